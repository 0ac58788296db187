"""Liveness and readiness as the event loop last reported them, readable from any thread.

At 20,000 rooms the worker's one event loop is busy (ingest batches, evaluation chunks), and a
/healthz served on it waits in the loop's ready queue: p99 174 ms for a handler that does
nothing. The probe server (streams/worker/probeserver.py) answers from its own thread instead,
from what the loop last wrote here:

- liveness: the loop-lag task (streams/worker/looplag.py) stamps `last_tick` every 0.1 s. A
  stamp older than `stale_s` means the loop is stuck or that task is gone: 503. A busy loop
  still answers 200, with how late its heartbeat is (`loop_lag_s`).
- readiness: a task on the loop runs the same checks as the web port's /readyz (`problems()`:
  partitions, Redis PING, broker) every `every_s` and keeps the result. A result older than
  `max_age_s` is not believed (the loop stopped refreshing it): 503.

The answers are computed from two attributes the loop replaces whole (a float, a tuple), so a
reader thread sees either the old or the new value, never half of one; no lock is needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from alerts.logthrottle import LogThrottle, exc_kind
from streams.worker.looplag import LoopLag

log = logging.getLogger(__name__)
Answer = tuple[int, dict[str, Any]]  # HTTP status, JSON body


class LoopProbes:
    """What /healthz and /readyz on the probe port answer; `refresh()` runs on the loop."""

    def __init__(self, lag: LoopLag, problems: Callable[[], Awaitable[list[str]]], *,
                 stale_s: float, every_s: float, max_age_s: float) -> None:
        self.lag, self.problems = lag, problems
        self.stale_s, self.every_s, self.max_age_s = stale_s, every_s, max_age_s
        # (problems, monotonic time the check finished); None until the first check ends.
        self.snapshot: tuple[tuple[str, ...], float] | None = None
        self.throttle = LogThrottle()

    async def refresh(self) -> None:
        """Runs the readiness checks every `every_s` seconds, forever (a service task)."""
        while True:
            try:
                found = tuple(await self.problems())
            except Exception as exc:  # noqa: BLE001 - a failed check is a problem, not a dead probe
                self.throttle.warning(log, ("ready", exc_kind(exc)),
                                      "readiness check failed: %s", exc_kind(exc))
                found = (f"readiness check failed: {exc_kind(exc)}",)
            self.snapshot = (found, time.monotonic())
            await asyncio.sleep(self.every_s)

    def liveness(self, now: float | None = None) -> Answer:
        now = time.monotonic() if now is None else now
        # The stamp is taken before each `interval_s` sleep: a calm loop shows lag ~0.
        age = max(0.0, now - self.lag.last_tick)
        lag_s = round(max(0.0, age - self.lag.interval_s), 3)
        if age > self.stale_s:
            return 503, {"status": "event loop stuck", "loop_lag_s": lag_s,
                         "reason": f"the event loop has not run its heartbeat for {age:.1f} s "
                                   f"(limit {self.stale_s:g} s)"}
        return 200, {"status": "ok", "loop_lag_s": lag_s}

    def readiness(self, now: float | None = None) -> Answer:
        now = time.monotonic() if now is None else now
        snapshot = self.snapshot
        if snapshot is None:
            return 503, {"status": "not ready", "problems": ["readiness not checked yet"]}
        found, taken = snapshot
        age = round(max(0.0, now - taken), 3)
        if age > self.max_age_s:
            return 503, {"status": "not ready", "checked_s_ago": age, "problems": [
                f"readiness last checked {age:.1f} s ago (limit {self.max_age_s:g} s): "
                "the event loop is not running its checks"]}
        if found:
            return 503, {"status": "not ready", "checked_s_ago": age, "problems": list(found)}
        return 200, {"status": "ready", "checked_s_ago": age}
