"""Bucket math, lateness and window planning over fine and coarse buckets."""

from __future__ import annotations

from itertools import pairwise

from streams.ingest.timepolicy import TimePolicy
from streams.kpi.buckets import ceil_to, floor_to, plan_window

S, C = 10_000, 300_000
HORIZON = 33 * 60_000
T = 1_763_000_100_000  # multiple of 5 min


def test_floor_and_ceil():
    assert floor_to(T + 9_999, S) == T
    assert ceil_to(T + 1, S) == T + S
    assert ceil_to(T, S) == T


def test_is_late_uses_grace_and_tolerates_no_watermark():
    late = TimePolicy(grace_ms=120_000, too_old_ms=46_500_000).late_by
    assert not late(T, None)
    assert not late(T - 120_000, T)
    assert late(T - 120_001, T)


def test_recent_window_is_fine_buckets_only():
    p = plan_window(T - 60_000, T + S, now_ms=T + 5, bucket_ms=S, coarse_ms=C,
                    fine_horizon_ms=HORIZON)
    assert p.coarse == ()
    assert p.fine == tuple(range(T - 60_000, T + S, S))
    assert (p.start_ms, p.end_ms) == (T - 60_000, T + S)


def test_partial_start_and_end_round_out_to_buckets():
    p = plan_window(T + 3, T + 25_001, now_ms=T + 25_001, bucket_ms=S, coarse_ms=C,
                    fine_horizon_ms=HORIZON)
    assert (p.start_ms, p.end_ms) == (T, T + 30_000)
    assert len(p.fine) == 3


def test_old_part_comes_from_coarse_buckets_and_start_rounds_down():
    now = T + 12 * 3_600_000 + 7_000
    start = T + 42_000  # mid coarse bucket, far older than the fine horizon
    p = plan_window(start, now + 1, now_ms=now, bucket_ms=S, coarse_ms=C, fine_horizon_ms=HORIZON)
    assert p.start_ms == T
    split = ceil_to(now - HORIZON, C)
    assert p.coarse == tuple(range(T, split, C))
    assert p.fine == tuple(range(split, floor_to(now, S) + S, S))
    assert split > now - HORIZON  # every fine bucket read is inside the fine horizon
    # The plan tiles the span with no gap and no overlap.
    assert p.coarse[-1] + C == p.fine[0]


def test_old_window_entirely_beyond_horizon_is_coarse_only():
    now = T + 10 * 3_600_000
    p = plan_window(T + 1_000, T + 30 * 60_000 + 1_000, now_ms=now, bucket_ms=S, coarse_ms=C,
                    fine_horizon_ms=HORIZON)
    assert p.fine == ()
    assert (p.start_ms, p.end_ms) == (T, T + 35 * 60_000)
    assert p.coarse == tuple(range(T, T + 35 * 60_000, C))


def test_empty_window():
    p = plan_window(T, T, now_ms=T, bucket_ms=S, coarse_ms=C, fine_horizon_ms=HORIZON)
    assert p.fine == () and p.coarse == () and p.start_ms == p.end_ms


def _tiles(p, b=S, c=C) -> list[tuple[int, int]]:
    spans = sorted([(x, x + b) for x in p.fine] + [(x, x + c) for x in p.coarse])
    for (_, e1), (s2, _) in pairwise(spans):
        assert e1 == s2, "a gap or an overlap"
    return spans


def test_anchored_window_starting_off_any_bucket_boundary_is_exact_at_10_s():
    """Issue 10: a broadcast starting 4 min past a 5-minute boundary, read hours later, reported
    [start - 4 min, start + 31 min) for first:30m."""
    start = T + 4 * 60_000 + 3_000  # 4 min 3 s past a coarse boundary
    now = start + 5 * 3_600_000
    from streams.kpi.buckets import plan_anchored
    p = plan_anchored(start, start + 30 * 60_000, now, S, C, HORIZON, exact_end=True)
    spans = _tiles(p)
    assert (p.start_ms, p.end_ms) == (floor_to(start, S), ceil_to(start + 30 * 60_000, S))
    assert spans[0][0] == p.start_ms and spans[-1][1] == p.end_ms
    assert p.fine and p.coarse  # head and tail from fine buckets, the middle from coarse ones


def test_anchored_window_without_an_exact_end_rounds_out_its_tail_only():
    start = T + 4 * 60_000
    now = start + 5 * 3_600_000
    from streams.kpi.buckets import plan_anchored
    p = plan_anchored(start, start + 47 * 60_000, now, S, C, HORIZON, exact_end=False)
    _tiles(p)
    assert p.start_ms == start and p.end_ms == ceil_to(start + 47 * 60_000, C)


def test_anchored_live_broadcast_reads_the_recent_part_from_fine_buckets():
    start = T + 2 * 60_000 + 7_000
    now = start + 2 * 3_600_000
    from streams.kpi.buckets import plan_anchored
    p = plan_anchored(start, now + 1, now, S, C, HORIZON, exact_end=False)
    _tiles(p)
    assert p.start_ms == floor_to(start, S) and p.end_ms == ceil_to(now + 1, S)
    assert min(p.fine) == p.start_ms and max(p.fine) >= now - HORIZON


def test_edges_are_the_coarse_buckets_of_start_each_edge_and_end():
    from streams.kpi.buckets import edge_ranges
    start = T + 4 * 60_000
    assert edge_ranges(start, start + 90 * 60_000, (30 * 60_000,), C) == \
        [T, T + 30 * 60_000, T + 90 * 60_000]
    assert edge_ranges(None, None, (30 * 60_000,), C) == []
