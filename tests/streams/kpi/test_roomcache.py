"""What the window reader may reuse between ticks (streams.kpi.roomcache): pure, no I/O."""

from __future__ import annotations

from streams.kpi.roomcache import Segment, slid_past
from streams.kpi.sums import Sums


def test_a_cached_result_survives_a_slide_only_past_buckets_without_its_member():
    seg = Segment()
    old, new = ((0, 30_000), (0, 0)), ((10_000, 40_000), (0, 0))
    seg.move(old, 10_000, 300_000)
    seg.move(new, 10_000, 300_000)  # slid one bucket: (f, 0) left
    assert seg.left == frozenset({("f", 0)})
    p1 = Sums(products={"p1": {"clk": 2}})

    def of(pid):
        return lambda b: b.products.get(pid)

    assert slid_past(seg, new, {}, of("p1"))  # same plan: nothing to check
    assert slid_past(seg, old, {("f", 0): p1}, of("p2"))  # p2 was not in the bucket that left
    assert not slid_past(seg, old, {("f", 0): p1}, of("p1"))  # p1 was: its events changed
    assert not slid_past(seg, old, {}, of("p2"))  # the bucket that left was not read: unknown
    assert not slid_past(seg, ((5, 6), (0, 0)), {("f", 0): p1}, of("p2"))  # an older plan
    assert not slid_past(seg, None, {("f", 0): p1}, of("p2"))
