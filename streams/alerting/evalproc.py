"""The alert evaluation's room reads in a child process, off the worker's event loop and GIL.

Reading a room (its windows' sums, distinct counts, every rule's reading) is ~0.4 ms of Python
a room and tick: at 1,000 live rooms, four tenths of a core on the one event loop that also
ingests and answers the API, which then waited behind it (/api/rooms p99 ~250 ms) while
evaluation got through ~800 rooms a tick. The child has its own interpreter, Redis connection
and read caches; the worker keeps the lifecycle (series state, alerts, sinks), so what crosses
the pipe each tick is the rules and targets when they changed, then the readings (a few per
room). `Evaluator.read_rooms` is the code the child runs: the same as the in-process read.

A child that dies or fails to start is counted and replaced (at once the first time, then after
2, 4 ... 300 s); meanwhile ticks read in the worker (alerts.evaluator logs it once a minute).
Spawned, the child imports the parent's main module as multiprocessing does: `roompulse` and
`python -m streams.cli` are import-safe; a script of your own needs `if __name__ == "__main__"`.
`ROOMPULSE_ALERTS_PROCESS=false` keeps every read in the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from alerts.evaluator import Evaluator
from alerts.remote import RoomReads
from alerts.rules import RulePack
from alerts.targets import Targets
from streams.kpi.config import KpiSettings
from streams.settings import RedisSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChildSpec:
    """What the child needs to build its own reader (it pickles: sent once, at spawn)."""

    redis: RedisSettings
    kpi: KpiSettings
    wait_replicas: int = 0
    concurrency: int = 8
    batch_rooms: int = 16
    read_cache: dict[str, Any] = field(default_factory=dict)
    history: bool = False  # `history` rules read past broadcasts (HistorySettings from env)
    shard: tuple[int, int] = (0, 1)  # read only shard i of n of the rooms (shards.py)


# The child's state: one per child process, built by _start_child.
_CHILD: dict[str, Any] = {}


def _die_with_parent() -> None:
    """A worker killed outright (SIGKILL, OOM) must not leave its child behind: the pool's
    child waits on a queue whose write end it holds itself, so it would never see EOF."""
    ppid = os.getppid()
    # the kernel's way (Linux): SIGKILL when the thread that started us ends
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)

    def watch() -> None:  # and a portable backstop: reparented = the worker is gone
        while os.getppid() == ppid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _start_child(spec: ChildSpec) -> None:
    _die_with_parent()
    # Ctrl-C reaches the whole process group: the worker stops its child, not the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s [alert-reads] %(name)s: %(message)s")
    from alerts.reader import KpiReader
    from streams.alerting.withhistory import KpiReaderWithHistory
    from streams.ingest.prepare import tune_gc
    from streams.kpi.roomread import RoomWindowReader
    from streams.kpi.store_cluster import kpi_store
    from streams.redisclient import redis_client

    tune_gc()  # as the worker: a read allocates thousands of short-lived dicts
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    store = kpi_store(redis_client(spec.redis), spec.kpi, spec.wait_replicas)
    reader: KpiReader = store
    if spec.history:
        from streams.history.baselines import HistoryBaselineReader
        from streams.history.settings import HistorySettings
        reader = KpiReaderWithHistory(store, HistoryBaselineReader(HistorySettings()))
    evaluator = Evaluator(lambda: _CHILD["rules"], lambda: _CHILD["targets"],
                          concurrency=spec.concurrency, chunk=spec.batch_rooms,
                          batch=RoomWindowReader(store, **spec.read_cache), shard=spec.shard)
    _CHILD.update(loop=loop, evaluator=evaluator, reader=reader)


def _read_in_child(rules: RulePack | None, targets: Targets | None, now_ms: int,
                   budget_s: float | None) -> RoomReads:
    if rules is not None:
        _CHILD["rules"] = rules
    if targets is not None:
        _CHILD["targets"] = targets
    reads: RoomReads = _CHILD["loop"].run_until_complete(
        _CHILD["evaluator"].read_rooms(_CHILD["reader"], now_ms, budget_s))
    return reads


class ChildUnavailable(RuntimeError):
    """No child now (the last ones died): this tick reads in the worker."""


class EvalProcess:
    """The worker's handle on its child (alerts.remote.RemoteReads): started at the first
    read (the leader's first tick; other workers never start one), replaced when it dies."""

    def __init__(self, spec: ChildSpec, registry: CollectorRegistry | None = None) -> None:
        self.spec = spec
        self._pool: ProcessPoolExecutor | None = None
        # what the child holds: (rules, targets) objects sent last; None = send them again
        self._sent: tuple[RulePack | None, Targets | None] = (None, None)
        self._fails, self._retry_at = 0, 0.0  # children lost in a row; next start not before
        self.restarts = Counter("roompulse_alert_process_restarts_total",
                                "Alert-read child processes that died or failed to start "
                                "(each replaced at the next tick; that tick read in the worker)",
                                registry=registry) if registry is not None else None

    @property
    def pid(self) -> int | None:
        """The child's pid once it runs (tests, logs)."""
        procs = getattr(self._pool, "_processes", None) or {}
        return next(iter(procs), None)

    async def read(self, rules: RulePack, targets: Targets, now_ms: int,
                   budget_s: float | None) -> RoomReads:
        if self._pool is None:
            if time.monotonic() < self._retry_at:
                raise ChildUnavailable(f"alert-read child failed {self._fails} time(s) in a "
                                       "row; reading in the worker until it is tried again")
            # spawn, not fork: the worker has threads and a running loop, which fork copies
            # half-way; spawn starts a clean interpreter (~1 s, once)
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_child, initargs=(self.spec,))
            self._sent = (None, None)
        sent_rules, sent_targets = self._sent
        try:
            reads = await asyncio.get_running_loop().run_in_executor(
                self._pool, _read_in_child, None if rules is sent_rules else rules,
                None if targets is sent_targets else targets, now_ms, budget_s)
        except BrokenProcessPool:
            self._replace()
            raise
        except BaseException:
            self._sent = (None, None)  # unknown what the child kept: send both next time
            raise
        if self._sent == (None, None):  # the first read of a new child: say where it runs
            log.info("alert reads run in a child process (pid %s)", self.pid)
        self._sent, self._fails = (rules, targets), 0
        return reads

    def _replace(self) -> None:
        # A child that cannot even start (e.g. the parent's main module is not import-safe)
        # would cost a spawn a tick: wait 2, 4 ... 300 s between attempts, reading meanwhile
        # in the worker.
        self._fails += 1
        self._retry_at = time.monotonic() + (0 if self._fails == 1 else
                                             min(300.0, 2.0 ** (self._fails - 1)))
        if self.restarts is not None:
            self.restarts.inc()
        log.warning("the alert-read child process died (%d in a row); reads go on in the "
                    "worker until a new one starts", self._fails)
        self.close()

    def close(self) -> None:
        """Stop the child (the worker's shutdown, or a dead child's pool)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        # A read only reads: ending one half-way loses nothing, and a child stuck on a hung
        # Redis would otherwise hold the worker's exit for the client's socket timeout.
        for proc in procs:
            proc.terminate()
