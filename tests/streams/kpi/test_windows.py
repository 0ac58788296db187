"""Window spans: rolling windows end with the bucket holding `now`; broadcast and first:N."""

from __future__ import annotations

import pytest

from schemas.kpis import RoomState
from streams.kpi.windows import window_span

S = 10_000
T = 1_763_000_100_000


def test_rolling_window_includes_the_filling_bucket():
    assert window_span("1m", None, None, T + 4_000, S) == (T + S - 60_000, T + S)
    # A length that is not a whole number of buckets rounds up.
    assert window_span("15s", None, None, T, S) == (T + S - 20_000, T + S)


def test_broadcast_window_from_start_until_now_or_end():
    live = RoomState(room_id="r", broadcast_start_ms=T + 1_234)
    assert window_span("broadcast", live, T, T + 100_000, S) == (T + 1_234, T + 110_000)
    ended = RoomState(room_id="r", broadcast_start_ms=T, broadcast_end_ms=T + 50_000)
    assert window_span("broadcast", ended, T, T + 900_000, S) == (T, T + 50_001)


def test_broadcast_without_start_counts_from_first_event():
    assert window_span("broadcast", None, T + 5, T + 20_000, S) == (T + 5, T + 30_000)
    assert window_span("broadcast", None, None, T, S) == (T + S, T + S)


def test_first_n_minutes():
    st = RoomState(room_id="r", broadcast_start_ms=T)
    assert window_span("first:30m", st, None, T + 3_600_000, S) == (T, T + 1_800_000)
    # Before N minutes have passed, the window ends now.
    assert window_span("first:30m", st, None, T + 60_000, S) == (T, T + 70_000)


def test_bad_window_raises():
    with pytest.raises(ValueError):
        window_span("yesterday", None, None, T, S)
