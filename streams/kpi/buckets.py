"""Event-time bucket math and window planning (which fine/coarse buckets make up a window)."""

from __future__ import annotations

from dataclasses import dataclass


def floor_to(ts_ms: int, size_ms: int) -> int:
    return ts_ms - ts_ms % size_ms


def ceil_to(ts_ms: int, size_ms: int) -> int:
    return -((-ts_ms) // size_ms) * size_ms


def is_late(event_ms: int, watermark_ms: int | None, grace_ms: int) -> bool:
    """An event is late when it is older than the watermark minus the grace period."""
    return watermark_ms is not None and event_ms < watermark_ms - grace_ms


@dataclass(frozen=True, slots=True)
class WindowPlan:
    """The buckets to sum for a window, and the span [start_ms, end_ms) they really cover."""

    start_ms: int
    end_ms: int
    fine: tuple[int, ...]
    coarse: tuple[int, ...]


def plan_window(
    start_ms: int, end_ms: int, now_ms: int, bucket_ms: int, coarse_ms: int, fine_horizon_ms: int
) -> WindowPlan:
    """Cover [start_ms, end_ms) with whole buckets.

    The start rounds down and the end rounds up to a fine bucket. When the window reaches back
    past `now_ms - fine_horizon_ms` (fine buckets there may have expired), the old part is read
    from coarse buckets: the start rounds down to a coarse bucket, coarse buckets run up to the
    first coarse boundary after the horizon, and fine buckets cover the rest. So the covered span
    can start up to one coarse bucket early; the plan reports the span really covered.
    """
    start = floor_to(start_ms, bucket_ms)
    end = ceil_to(end_ms, bucket_ms)
    if end <= start:
        return WindowPlan(start, start, (), ())
    horizon = now_ms - fine_horizon_ms
    if start >= horizon:
        return WindowPlan(start, end, tuple(range(start, end, bucket_ms)), ())
    # The head may be older than the fine horizon: read it from its enclosing coarse bucket.
    start = floor_to(start, coarse_ms)
    # Fine buckets are trusted only from the first coarse boundary at or after the horizon.
    split = ceil_to(horizon, coarse_ms)
    if split >= end:
        end = ceil_to(end, coarse_ms)
        return WindowPlan(start, end, (), tuple(range(start, end, coarse_ms)))
    return WindowPlan(
        start, end, tuple(range(split, end, bucket_ms)), tuple(range(start, split, coarse_ms))
    )
