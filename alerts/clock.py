"""The wall clock of the alerts layer: one function, so every "now" is the same kind of number.

Alerts run on two clocks. The KPI stream's clock (`now_ms` passed into the evaluator and the
pipeline stages) says which minute of the broadcast a window ends at; the wall clock says when
something happens in the real world: silences start and end, an operator acknowledges, a held
nudge becomes due, a chat platform's request is signed, a Retry-After date is reached. This is
the wall clock, in epoch milliseconds (integers: Redis scores, stream ids and JSON all take them
without rounding). Code that needs "now" takes a `clock: Callable[[], int] = now_ms` argument,
so tests pass a fixed time instead of sleeping. `streams/` may import it; it imports nothing.

Durations (timeouts, budgets, backoff) use time.monotonic / time.perf_counter instead: the wall
clock can jump."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]


def now_ms() -> int:
    """Wall-clock epoch milliseconds (integer arithmetic: no float rounding at 1.7e12)."""
    return time.time_ns() // 1_000_000


__all__ = ["Clock", "now_ms"]
