"""Event-time bucket math and window planning (which fine/coarse buckets make up a window)."""

from __future__ import annotations

from dataclasses import dataclass


def floor_to(ts_ms: int, size_ms: int) -> int:
    return ts_ms - ts_ms % size_ms


def ceil_to(ts_ms: int, size_ms: int) -> int:
    return -((-ts_ms) // size_ms) * size_ms


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


def edge_ranges(bstart: int | None, bend: int | None, edges_ms: tuple[int, ...],
                coarse_ms: int) -> list[int]:
    """Starts of the coarse buckets whose FINE buckets the store keeps as long as coarse ones:
    those holding the broadcast's start, its end and each `start + edge`. Reading them lets
    `first:N` and `broadcast` windows cover exactly the broadcast's own time."""
    points = [] if bstart is None else [bstart, *(bstart + e for e in edges_ms)]
    if bend is not None:
        points.append(bend)
    return sorted({floor_to(p, coarse_ms) for p in points})


def plan_anchored(
    start_ms: int, end_ms: int, now_ms: int, bucket_ms: int, coarse_ms: int,
    fine_horizon_ms: int, exact_end: bool,
) -> WindowPlan:
    """Like plan_window, for a window anchored at a broadcast's start (`first:N`, `broadcast`).

    The head, from the start to the next coarse boundary, is read from fine buckets even when
    older than the fine horizon: the store keeps the fine buckets around a broadcast's start
    (see edge_ranges). So is the tail when `exact_end` (the end is the broadcast's end or
    start + a configured edge); otherwise the tail rounds out to a coarse bucket as before.
    """
    start = floor_to(start_ms, bucket_ms)
    end = ceil_to(end_ms, bucket_ms)
    if end <= start:
        return WindowPlan(start, start, (), ())
    horizon = now_ms - fine_horizon_ms
    if start >= horizon:
        return WindowPlan(start, end, tuple(range(start, end, bucket_ms)), ())
    head_end = min(ceil_to(start, coarse_ms), end)
    fine = list(range(start, head_end, bucket_ms))
    if head_end >= end:
        return WindowPlan(start, end, tuple(fine), ())
    split = max(ceil_to(horizon, coarse_ms), head_end)
    if split < end:  # the recent part is fine buckets, as in plan_window
        return WindowPlan(start, end, tuple(fine + list(range(split, end, bucket_ms))),
                          tuple(range(head_end, split, coarse_ms)))
    if exact_end:
        tail = max(floor_to(end, coarse_ms), head_end)
        return WindowPlan(start, end, tuple(fine + list(range(tail, end, bucket_ms))),
                          tuple(range(head_end, tail, coarse_ms)))
    covered = ceil_to(end, coarse_ms)
    return WindowPlan(start, covered, tuple(fine), tuple(range(head_end, covered, coarse_ms)))
