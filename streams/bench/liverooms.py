"""`roompulse bench --live-rooms N`: alert evaluation, the HTTP API and /metrics with N live rooms.

One real worker process (default rule pack, 1 s evaluation tick) consumes the simulator's N rooms,
paced in real time by `streams.bench.liveload` in its own process, none of them ever ending. Once
every room the worker may track (ROOMPULSE_KPI_MAX_LIVE_ROOMS) is live and evaluated, the bench
measures for `--duration` seconds: the evaluation ticks (from the worker's own histogram and
counters, as differences between a scrape at the start and one at the end), and the latency of
/healthz (on the probe port and on the web port), GET /api/rooms (first page) and /metrics as a
client sees them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson

from streams.bench import promtext
from streams.bench.machine import machine_info
from streams.bench.measure import cpu_seconds, runqueue_seconds, say, tree_cpu_seconds
from streams.bench.probes import Probes, Scrape, scrape, summary
from streams.bench.procs import child_env, stop
from streams.bench.run import embedded_servers
from streams.kpi.config import KpiSettings
from streams.settings import TopicSettings
from streams.stack import Stack, free_port, start_stack
from streams.topics import create_topics

CAUGHT_UP_S = 5.0
WARM_READS = 2


@dataclass(frozen=True)
class LiveConfig:
    rooms: int
    duration_s: float = 60.0
    rate: float = 10_000  # offered events/s across all rooms, once the history is out
    warmup_s: float = 60.0  # seconds of event-time history produced first
    settle_timeout_s: float = 300.0  # for every room to be live and evaluated (+1 s/100 rooms)
    partitions: int = 8
    worker_log: str | None = None


def main(args: argparse.Namespace) -> int:
    cfg = LiveConfig(rooms=args.live_rooms, duration_s=args.duration, rate=args.live_rate,
                     partitions=args.partitions, worker_log=args.worker_log)
    with start_stack(redis_aof=not args.no_aof) as stack:
        result = asyncio.run(run_live(cfg, stack))
    if args.json:
        print(json.dumps(result))
    else:
        for key, val in result.items():
            print(f"{key:28} {val}")
    return 0 if result.get("settled") else 1


def spawn_logged(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as f:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, *args], env=env, stdin=subprocess.DEVNULL,
                                stdout=f, stderr=subprocess.STDOUT)


async def settle(http: aiohttp.ClientSession, api: str, rooms: int, timeout_s: float,
                 worker: subprocess.Popen) -> tuple[bool, Scrape | None]:
    """Wait until the worker tracks every room it may (N or its cap), a tick covered them and
    the worker has caught up with the history."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline and worker.poll() is None:
        await asyncio.sleep(2.0)
        try:
            last = await scrape(http, api)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            continue
        s = last.samples
        live = promtext.value(s, "roompulse_worker_live_rooms") or 0
        cap = promtext.value(s, "roompulse_worker_live_rooms_limit") or rooms
        covered = promtext.value(s, "roompulse_alert_tick_rooms", outcome="live") or 0
        # Caught up with the history too: events applied within a few seconds of real time.
        lag = promtext.value(s, "roompulse_worker_event_time_lag_seconds")
        # And past the cold start: a room's first read takes every bucket of every window (later
        # ones only the newest), so wait until each room has been read about twice.
        done = sum(v for (n, _), v in s.items() if n == "roompulse_alert_rooms_evaluated_total")
        want = min(rooms, cap)
        if live >= want and covered >= want and lag is not None and lag < CAUGHT_UP_S \
                and done >= WARM_READS * want:
            return True, last
    return False, last


async def run_live(cfg: LiveConfig, stack: Stack) -> dict:
    tag = uuid.uuid4().hex[:6]
    topics = TopicSettings(prefix=f"live{tag}", partitions=cfg.partitions)
    kpi = KpiSettings(key_prefix=f"live{tag}")
    await create_topics(stack.kafka, topics)
    env = child_env(stack, topics, kpi.key_prefix, f"live{tag}")
    log = Path(cfg.worker_log or tempfile.mkstemp(prefix="roompulse-live-", suffix=".log")[1])
    port, probe_port = free_port(), free_port()
    result: dict = {"machine": machine_info(), "live_rooms": cfg.rooms,
                    "offered_events_per_s": cfg.rate, "duration_s": cfg.duration_s,
                    "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    worker = spawn_logged(["-m", "streams.cli", "worker", "--web-port", str(port),
                           "--probe-port", str(probe_port), "--loglevel", "warning"], env, log)
    load = subprocess.Popen([sys.executable, "-m", "streams.bench.liveload", "--rooms",
                             str(cfg.rooms), "--rate", str(cfg.rate), "--warmup-s",
                             str(cfg.warmup_s)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE)
    api = f"http://127.0.0.1:{port}"
    servers = embedded_servers(stack)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            say(f"live rooms: {cfg.rooms} rooms at {cfg.rate:.0f} events/s; worker pid "
                f"{worker.pid}, log {log}")
            t_settle = time.monotonic()
            settled, _ = await settle(http, api, cfg.rooms,
                                      cfg.settle_timeout_s + cfg.rooms / 100, worker)
            result.update(settled=settled, settle_s=round(time.monotonic() - t_settle, 1))
            say(f"live rooms: {'settled' if settled else 'NOT settled'} after "
                f"{result['settle_s']} s; measuring {cfg.duration_s:.0f} s")
            before = await scrape(http, api)
            cpu0, t0 = cpu_seconds(worker.pid), time.perf_counter()
            wait0 = runqueue_seconds(worker.pid)
            kids0 = tree_cpu_seconds(worker.pid)  # the alert-read child (ROOMPULSE_ALERTS_PROCESS)
            s0 = {name: cpu_seconds(pid) for name, pid in servers.items()}
            load0, own0 = cpu_seconds(load.pid), time.process_time()
            probes = Probes(http, api, f"http://127.0.0.1:{probe_port}")
            await probes.run(cfg.duration_s)
            after = await scrape(http, api)
            wall = time.perf_counter() - t0
            result["worker_cpu_share"] = round((cpu_seconds(worker.pid) - cpu0) / wall, 2)
            kids1 = tree_cpu_seconds(worker.pid)
            # children alive at both ends; one started (or replaced) meanwhile counts from 0
            result["worker_children_cpu_share"] = round(
                sum(t - kids0.get(pid, 0.0) for pid, t in kids1.items()) / wall, 2)
            # Runnable but waiting for a CPU: what the shared machine took from the worker.
            result["worker_runqueue_share"] = round(
                (runqueue_seconds(worker.pid) - wait0) / wall, 2)
            result["server_cpu_share"] = {name: round((cpu_seconds(pid) - s0[name]) / wall, 2)
                                          for name, pid in servers.items()}
            # The bench's own load on the same cores: the traffic generator and these probes.
            result["load_cpu_share"] = round((cpu_seconds(load.pid) - load0) / wall, 2)
            result["bench_cpu_share"] = round((time.process_time() - own0) / wall, 2)
            result.update(summary(before, after, wall))
            result.update(probes.figures())
    finally:
        load.terminate()
        try:
            out, _ = load.communicate(timeout=30)
            lines = out.decode(errors="replace").strip().splitlines()
            result["load"] = orjson.loads(lines[-1]) if lines else None
        except (subprocess.TimeoutExpired, orjson.JSONDecodeError):
            load.kill()
            result["load"] = None
        stop(worker)
    result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["worker_log"] = str(log)
    result["worker_log_bytes"] = log.stat().st_size
    return result
