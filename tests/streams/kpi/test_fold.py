"""BatchFolder: counters and distinct users per bucket, control events, determinism."""

from __future__ import annotations

from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from tests.streams.kpi.factory import T0, ev, order

S = KpiSettings()


def fold(*events):
    f = BatchFolder(S)
    for e in events:
        f.add(e)
    return f.take()


def test_counts_by_room_bucket_and_field():
    d = fold(ev("enter", 1_000, source="search"), ev("enter", 2_000, user="u2", source="search"),
             ev("enter", 12_000, user="u3"), ev("leave", 13_000, watch_ms=500),
             ev("like", 3_000, count=5), ev("room_exposure", 4_000, user=None, source="ads"))
    c = d.counter
    assert c("r1", T0, "ent") == 2
    assert c("r1", T0, "s:search:ent") == 2
    assert c("r1", T0 + 10_000, "ent") == 1
    assert c("r1", T0 + 10_000, "s:other:ent") == 1
    assert c("r1", T0 + 10_000, "wms") == 500
    assert c("r1", T0, "lk") == 5
    assert c("r1", T0, "s:ads:exp") == 1
    assert d.members[("r1", T0, "uv")] == {"u1", "u2"}
    assert d.members[("r1", T0, "iu")] == {"u1"}
    assert (d.event_count, d.rooms, d.max_event_ms) == (6, {"r1"}, T0 + 13_000)
    assert (d.first_ms["r1"], d.last_ms["r1"]) == (T0 + 1_000, T0 + 13_000)


def test_products_orders_and_refunds():
    d = fold(ev("product_click", 0, product_id="p1"), ev("cart_add", 0, product_id="p1"),
             order(1_000, amount=12.34), order(2_000, user="u2", amount=5, status="refunded"),
             order(3_000, user="u3", amount=7, status="created"),
             order(4_000, user=None, amount=1))
    c = d.counter
    assert c("r1", T0, "p:p1:clk") == 1 and c("r1", T0, "pclk") == 1
    assert c("r1", T0, "ord") == 2 and c("r1", T0, "gp") == 1234 + 100
    assert c("r1", T0, "ref") == 1 and c("r1", T0, "p:p1:gr") == 500
    assert d.product_members[("r1", T0, "ck", "p1")] == {"u1"}
    assert d.product_members[("r1", T0, "by", "p1")] == {"u1"}  # refunds and anonymous: no buyer
    assert d.purchases == [(T0 + 1_000, "r1", "u1", "")]


def test_comments_and_negative_share_inputs():
    d = fold(ev("comment", 0, text="好看"), ev("comment", 1, user="u2", text="骗子"))
    assert d.counter("r1", T0, "cmt") == 2
    assert d.counter("r1", T0, "neg") == 1


def test_control_events_become_room_state_updates():
    d = fold(ev("broadcast_start", 0, user=None, brand_id="b1", platform="douyin"),
             ev("stage_change", 5, user=None, stage="conversion"),
             ev("stage_change", 3, user=None, stage="traffic"),  # older: loses
             ev("product_pinned", 7, user=None, product_id="p9", product_name="Serum"),
             ev("ad_spend", 8, user=None, amount=99.5, audience_package="pkg"),
             ev("broadcast_end", 9, user=None))
    ctl = d.control["r1"]
    assert (ctl.broadcast_start, ctl.broadcast_end) == (T0, T0 + 9)
    assert ctl.stamped["stage"] == (T0 + 5, {"stage": "conversion"})
    assert ctl.stamped["brand"] == (T0, {"brand": "b1"})
    assert ctl.stamped["pin"][1] == {"pin_id": "p9", "pin_name": "Serum", "pin_role": ""}
    assert d.product_names[("r1", "p9")] == "Serum"
    assert d.counter("r1", T0, "ad") == 9950
    assert d.platform["r1"] == "douyin"


def test_host_change_and_pin_role_become_room_state():
    d = fold(ev("host_change", 4, user=None, host_id="h2", host_name="Lin"),
             ev("host_change", 2, user=None, host_id="h1", host_name="Ann"),  # older: loses
             ev("product_pinned", 5, user=None, product_id="p1", product_name="Tea",
                role="traffic"))
    ctl = d.control["r1"]
    assert ctl.stamped["host"] == (T0 + 4, {"host_id": "h2", "host_name": "Lin"})
    assert ctl.stamped["pin"][1] == {"pin_id": "p1", "pin_name": "Tea", "pin_role": "traffic"}


def test_purchases_sorted_and_take_resets():
    f = BatchFolder(S)
    for e in (order(5_000, user="b"), order(1_000, user="a", brand_id="x")):
        f.add(e)
    d = f.take()
    assert [p[2] for p in d.purchases] == ["a", "b"]
    assert d.purchases[0][3] == "x"
    empty = f.take()
    assert empty.event_count == 0 and not empty.counters and not empty.fields
    assert empty.max_event_ms is None


def test_fold_is_deterministic():
    events = [ev("enter", i * 700, user=f"u{i % 7}") for i in range(50)]
    events += [order(i * 900, user=f"u{i % 3}") for i in range(20)]
    assert fold(*events) == fold(*events)
