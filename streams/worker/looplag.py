"""How long the event loop is blocked, and by what: a lag histogram and a stall watchdog.

/healthz, /readyz and the API share the worker's one event loop with the KPI loop and the
alert evaluator. When a probe is slow, the question is always "what held the loop?". Two
answers, both cheap:

- `LoopLag.run()`: a task that sleeps `interval_s` and records how late it woke
  (`roompulse_worker_loop_lag_seconds`). Node's event-loop-lag and asyncio's debug mode
  measure the same thing; this one runs in production.
- `StallWatchdog`: a daemon thread. When the loop has not ticked for `stall_s`, it takes the
  loop thread's Python stack (`sys._current_frames`) once per stall and logs its innermost
  frames, so a blocked loop names its culprit in the log (throttled like every worker line).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback

from prometheus_client import CollectorRegistry, Counter, Histogram

log = logging.getLogger(__name__)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FRAMES_LOGGED = 8  # innermost frames of a stalled loop's stack put in the log line


class LoopLag:
    """Samples the event loop's lag every `interval_s` seconds (one short task)."""

    def __init__(self, registry: CollectorRegistry, interval_s: float = 0.1,
                 stall_s: float = 0.0) -> None:
        self.interval_s = interval_s
        self.lag = Histogram("roompulse_worker_loop_lag_seconds", (
            "how late the event loop woke a task that slept a fixed interval: time during "
            "which /healthz and the API could not answer"), buckets=LAG_BUCKETS,
            registry=registry)
        self.stalls = Counter("roompulse_worker_loop_stalls_total", (
            "times the event loop was blocked longer than ROOMPULSE_WORKER_LOOP_STALL_MS "
            "(the log names the stack that blocked it)"), registry=registry)
        self.last_tick = time.monotonic()
        self.watchdog = StallWatchdog(self, stall_s) if stall_s > 0 else None

    async def run(self) -> None:
        if self.watchdog is not None:
            self.watchdog.start(threading.get_ident())
        try:
            while True:
                before = time.monotonic()
                self.last_tick = before
                await asyncio.sleep(self.interval_s)
                self.lag.observe(max(0.0, time.monotonic() - before - self.interval_s))
        finally:
            if self.watchdog is not None:
                self.watchdog.stop()


class StallWatchdog:
    """A daemon thread that logs the loop thread's stack when the loop stops ticking."""

    def __init__(self, lag: LoopLag, stall_s: float) -> None:
        self.lag = lag
        self.stall_s = stall_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, loop_thread: int) -> None:
        self._thread = threading.Thread(target=self._watch, args=(loop_thread,),
                                        name="loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self, loop_thread: int) -> None:
        reported = 0.0  # the last_tick of the stall already reported: one line per stall
        # The loop ticks every interval_s; a tick older than interval + stall is a stall.
        limit = self.lag.interval_s + self.stall_s
        while not self._stop.wait(self.stall_s / 4):
            tick = self.lag.last_tick
            blocked = time.monotonic() - tick
            if blocked < limit or tick == reported:
                continue
            reported = tick
            frame = sys._current_frames().get(loop_thread)
            if frame is None:
                continue
            self.lag.stalls.inc()
            where = traceback.extract_stack(frame)[-FRAMES_LOGGED:]
            log.warning("event loop blocked for %.0f ms so far, in: %s", blocked * 1000,
                        " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}"
                                    for f in reversed(where)))
