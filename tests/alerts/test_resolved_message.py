"""A resolved alert describes the moment it resolved, not its last firing reading."""

from alerts.evaluator import Evaluator
from tests.alerts.helpers import T0, pack, reader, run, targets

ROOM = {"stage": "conversion", "phase": "live", "pinned": "p1", "products": {
    "p1": {"name": "精华液", "kpis": {"cart_rate": {"values": "0.4x59", "denominator": "60x59"}}},
    "p2": {"name": "面膜", "kpis": {"cart_rate": {"values": "0.1x59", "denominator": "60x59"}}}}}
HIGH_CART = {"id": "hot", "kind": "threshold", "kpi": "cart_rate", "fan_out": "product",
             "pinned_only": True, "above": 0.3, "keep_firing_for": "132s"}


async def test_resolved_without_a_reading_is_worded_at_the_minute_it_resolved():
    # p1 is pinned (and breaching) until minute 52, then p2: p1's series has no reading from
    # then on, is kept firing 2 min 12 s and resolves at minute 55 + 12 s.
    r = reader({"room-1": ROOM})
    ev = Evaluator(pack(HIGH_CART), targets())
    _, last = await run(ev, r, 52 * 60, every_s=60)
    assert [a.state for a in last.alerts] == ["firing"]
    assert last.alerts[0].minutes_since_start == 52.0
    r.rooms_["room-1"].state.pinned_product_id = "p2"
    resolved = []
    for t in [53 * 60, 54 * 60, 55 * 60, 55 * 60 + 12]:
        r.now_ms = T0 + t * 1000
        resolved += [a for a in (await ev.evaluate(r)).alerts if a.state == "resolved"]
    (a,) = resolved
    assert a.ends_at == T0 + (55 * 60 + 12) * 1000
    assert a.minutes_since_start == 55.2
    assert "开播第55分钟" in a.summary["zh-CN"] and "minute 55)" in a.summary["en"]
    # the last reading (40%) no longer holds and is not restated as the value now
    assert a.evidence.value is None and "40.0%" not in a.summary["en"]
    assert "now —" in a.summary["en"]


async def test_resolved_with_a_reading_states_that_reading_and_minute():
    room = {**ROOM, "products": {"p1": {"name": "精华液", "kpis": {"cart_rate": {
        "values": "0.4x11 0.2x48", "denominator": "60x59"}}}}}
    r = reader({"room-1": room})
    ev = Evaluator(pack({**HIGH_CART, "keep_firing_for": "0s"}), targets())
    trans, last = await run(ev, r, 12 * 60 + 30, every_s=50)  # the 20% reading comes at 12:00
    assert [t.state.value for t in trans] == ["firing", "resolved"]
    (a,) = last.alerts
    assert a.state == "resolved" and a.minutes_since_start == 12.5
    assert a.evidence.value == 0.2 and "now 20.0%" in a.summary["en"]
