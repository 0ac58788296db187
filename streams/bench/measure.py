"""Process and latency measurements for the bench: /proc CPU and peak RSS, percentiles, progress."""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def child_pids(pid: int) -> list[int]:
    """The live children of `pid` (all its threads'), e.g. the worker's alert-read process."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return out


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of `pid`'s children by pid (read again at the end: the same pids count)."""
    out = {}
    for c in child_pids(pid):
        try:
            out[c] = cpu_seconds(c)
        except OSError:
            continue
    return out


def runqueue_seconds(pid: int | str) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU (/proc/<pid>/schedstat,
    summed over its threads): the time a busy machine took from it."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile, or no schedstats in this kernel
    return total / 1e9


def _status_mib(pid: int, field: str) -> float:
    """A kB field of /proc/<pid>/status (e.g. "VmRSS"), in MiB; NaN when absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set size) of a live process, in MiB."""
    return _status_mib(pid, "VmHWM")


def rss_mb(pid: int) -> float:
    """VmRSS (current resident set size) of a live process, in MiB."""
    return _status_mib(pid, "VmRSS")


async def sample_rss(pid: int, out: list[float], every_s: float = 1.0) -> None:
    """Append the process's RSS to `out` every `every_s` until cancelled (memory flatness)."""
    while True:
        try:
            out.append(rss_mb(pid))
        except OSError:
            return
        await asyncio.sleep(every_s)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


@dataclass
class Run:
    """First and last observation of a consuming process's progress."""

    n_first: int = 0
    t_first: float = 0.0
    cpu_first: float = 0.0
    n_last: int = 0
    t_last: float = 0.0
    cpu_last: float = 0.0
    n_any: int = 0  # the first observation with anything applied, `started` or not
    t_any: float = 0.0
    wait_first: float = 0.0  # runqueue seconds of the measured processes (see runqueue_seconds)
    wait_last: float = 0.0
    n_mid: int = 0  # the first observation past half of the measured span's events
    t_mid: float = 0.0
    cpu_mid: float = 0.0
    servers_first: dict[str, float] = field(default_factory=dict)  # name -> CPU seconds
    servers_last: dict[str, float] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        span = self.t_last - self.t_first
        return (self.n_last - self.n_first) / span if span > 0 else float("nan")

    @property
    def events_per_s_from_any(self) -> float:
        """The same rate with the clock started at the first apply of ANY group."""
        span = self.t_last - self.t_any
        return (self.n_last - self.n_any) / span if span > 0 else float("nan")

    @property
    def cpu_s_per_million(self) -> float:
        n = self.n_last - self.n_first
        return (self.cpu_last - self.cpu_first) / n * 1e6 if n else float("nan")

    @property
    def cpu_share(self) -> float | None:
        """CPU seconds of the measured processes per wall second of the span (1.0 = a core)."""
        span = self.t_last - self.t_first
        return (self.cpu_last - self.cpu_first) / span if span > 0 else None

    @property
    def runqueue_share(self) -> float | None:
        """Seconds they waited for a CPU while runnable, per wall second of the span."""
        span = self.t_last - self.t_first
        return (self.wait_last - self.wait_first) / span if span > 0 else None

    @property
    def second_half(self) -> tuple[float | None, float | None]:
        """(events/s, CPU-s per million) from the middle of the span to its end: warm-up
        costs that scale with keys and rooms rather than events (first writes, TTLs, dict
        growth) fall mostly in the first half."""
        n, span = self.n_last - self.n_mid, self.t_last - self.t_mid
        if not self.t_mid or n <= 0 or span <= 0:
            return None, None
        return n / span, (self.cpu_last - self.cpu_mid) / n * 1e6

    @property
    def server_cpu_s_per_million(self) -> dict[str, float | None]:
        """CPU-s per million events of each server (Tansu, valkey) over the same span."""
        n = self.n_last - self.n_first
        return {k: round((self.servers_last[k] - v) / n * 1e6, 2) if n > 0 else None
                for k, v in self.servers_first.items()}

    @property
    def server_cpu_share(self) -> dict[str, float | None]:
        """CPU seconds per wall second of each server over the span (1.0 = one core)."""
        span = self.t_last - self.t_first
        return {k: round((self.servers_last[k] - v) / span, 2) if span > 0 else None
                for k, v in self.servers_first.items()}


def _servers_cpu(servers: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in servers.items()}


async def watch(progress, target: int, cpu: int | Callable[[], float] | None, timeout: float,
                label: str, poll_s: float = 0.02, servers: dict[str, int] | None = None,
                waits: Callable[[], float] | None = None) -> Run:
    """Poll `await progress()` until the events applied so far reach `target`.

    `progress()` returns `(applied, started)`: `applied` counts every event the process has
    applied, `started` says whether the loop being measured has applied its first batch. The
    clock starts at the first observation with `started`, so start-up (Faust, group joins) is
    excluded; CPU time (`cpu`: a pid, or a callable summing several) and each of `servers`'
    CPU are sampled at the same two moments.
    """
    read_cpu = (lambda: cpu_seconds(cpu)) if isinstance(cpu, int) else cpu
    servers = servers or {}
    run = Run()
    began = time.monotonic()
    last_report = began
    while True:
        n, started = await progress()
        now = time.perf_counter()
        used = read_cpu() if read_cpu else 0.0
        if n > 0 and run.t_any == 0.0:
            run.n_any, run.t_any = n, now
        if started and n > 0 and run.t_first == 0.0:
            run.n_first, run.t_first, run.cpu_first = n, now, used
            run.servers_first = _servers_cpu(servers)
            run.wait_first = waits() if waits else 0.0
        if run.t_first and not run.t_mid and n >= (run.n_first + target) / 2:
            run.n_mid, run.t_mid, run.cpu_mid = n, now, used
        run.n_last, run.t_last, run.cpu_last = n, now, used
        if run.t_first:
            run.servers_last = _servers_cpu(servers)
            run.wait_last = waits() if waits else 0.0
        if n >= target:
            return run
        if time.monotonic() - began > timeout:
            say(f"{label}: timed out at {n}/{target} after {timeout:.0f}s")
            return run
        if time.monotonic() - last_report > 2:
            last_report = time.monotonic()
            say(f"{label}: {n}/{target} applied")
        await asyncio.sleep(poll_s)
