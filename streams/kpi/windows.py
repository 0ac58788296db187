"""Window spans in event time: rolling, broadcast-to-date and first-N-minutes."""

from __future__ import annotations

from functools import lru_cache

from schemas.kpis import RoomState, parse_window
from streams.kpi.buckets import ceil_to, floor_to

# Every request of every room of every alert tick parses its window (~10 a room); the specs are
# the rule pack's and the API's few, so remembering them is cheaper than the regex. Bounded.
_parse = lru_cache(maxsize=256)(parse_window)


def broadcast_start(state: RoomState | None, first_ms: int | None) -> int | None:
    """The broadcast's start; a room with no broadcast_start counts from its first event."""
    if state is not None and state.broadcast_start_ms is not None:
        return state.broadcast_start_ms
    return first_ms


def window_span(
    window: str, state: RoomState | None, first_ms: int | None, now_ms: int, bucket_ms: int
) -> tuple[int, int]:
    """[start, end) in event time for a window spec at `now_ms`.

    Rolling windows end at the end of the bucket holding `now_ms` (that bucket is still
    filling) and span the window length rounded up to whole buckets. Broadcast windows start at
    broadcast_start and end at broadcast_end (inclusive) or now; `first:N` takes N from the start.
    """
    kind, length = _parse(window)
    now_end = floor_to(now_ms, bucket_ms) + bucket_ms
    if kind == "rolling":
        if length is None:  # parse_window gives every rolling window a length
            raise ValueError(f"rolling window without a length: {window!r}")
        return now_end - max(bucket_ms, ceil_to(length, bucket_ms)), now_end
    start = broadcast_start(state, first_ms)
    if start is None:
        return now_end, now_end
    end = now_end
    if state is not None and state.broadcast_end_ms is not None \
            and state.broadcast_end_ms >= start:
        end = min(end, state.broadcast_end_ms + 1)
    if kind == "first":
        if length is None:  # parse_window gives every first:N window a length
            raise ValueError(f"first:N window without a length: {window!r}")
        end = min(end, start + length)
    return start, max(start, end)
