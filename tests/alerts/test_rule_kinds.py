"""Each rule kind over KPI series: target, change, threshold, no data, negative share."""

import pytest
from pydantic import ValidationError

from alerts.evaluator import Evaluator
from alerts.rules import RulePack
from tests.alerts.helpers import firing, pack, reader, run, targets

STAGE = {"stage": "conversion", "phase": "live"}


async def test_target_below_and_above_with_min_denominator():
    t = targets("stages:\n  conversion:\n    ctr: {min: 0.03, max: 0.5, window: 10m}\n")
    r = reader({
        "low": {**STAGE, "kpis": {"ctr": {"values": "0.01x10", "denominator": "500x10"}}},
        "high": {**STAGE, "kpis": {"ctr": {"values": "0.9x10", "denominator": "500x10"}}},
        "thin": {**STAGE, "kpis": {"ctr": {"values": "0.0x10", "denominator": "12x10"}}},
    })
    ev = Evaluator(pack({"id": "t", "kind": "target", "min_denominator": 50}), t)
    _, last = await run(ev, r, 60)
    assert firing(last) == {("t", "low", None, None), ("t", "high", None, None)}
    bounds = {a.room_id: (a.labels["bound"], a.evidence.target) for a in last.alerts}
    assert bounds == {"low": ("min", 0.03), "high": ("max", 0.5)}


async def test_target_scope_and_stage_come_from_the_room():
    t = targets("stages:\n  traffic:\n    ctr: {min: 0.03, scope: {first: 2m}}\n")
    r = reader({"a": {"stage": "traffic", "kpis": {"ctr": "0.01x10"}},
                "b": {"stage": "conversion", "kpis": {"ctr": "0.01x10"}}})
    ev = Evaluator(pack({"id": "t", "kind": "target"}), t)
    trans, _ = await run(ev, r, 180)
    assert [(x.room_id, x.state.value) for x in trans] == [("a", "firing"), ("a", "resolved")]
    assert trans[1].at - trans[0].at == 120_000


async def test_change_against_previous_window_fans_out_per_product():
    r = reader({"room": {**STAGE, "products": {
        "p1": {"name": "精华液", "kpis": {
            "cart_rate": {"values": "0.2x19 0.3x10", "denominator": "50x30"}}},
        "p2": {"kpis": {"cart_rate": {"values": "0.2x30", "denominator": "50x30"}}},
    }}})
    rule = {"id": "c", "kind": "change", "kpi": "cart_rate", "fan_out": "product",
            "window": "5m", "by": 0.3, "min_denominator": 20}
    ev = Evaluator(pack(rule), targets(), max_gap_ms=180_000)
    trans, _ = await run(ev, r, 26 * 60, every_s=60)
    assert [(x.state.value, x.labels, (x.at - r.start_ms) // 60_000) for x in trans] == [
        ("firing", {"product_id": "p1"}, 20), ("resolved", {"product_id": "p1"}, 25)]


async def test_change_needs_both_windows_inside_the_broadcast():
    r = reader({"room": {**STAGE, "kpis": {"cart_rate": {"values": "0.1 0.9x20",
                                                         "denominator": "50x21"}}}})
    rule = {"id": "c", "kind": "change", "kpi": "cart_rate", "window": "10m"}
    _, last = await run(Evaluator(pack(rule), targets()), r, 19 * 60, every_s=60)
    assert firing(last) == set()


async def test_threshold_with_an_extra_condition_and_hysteresis():
    prods = {"p": {"kpis": {
        "order_rate": {"values": "0.01x3 0.052x3 0.06x3", "denominator": "100x9"},
        "ctr": {"values": "0.3x9", "denominator": "900x9"}}}}
    r = reader({"room": {**STAGE, "products": prods}})
    rule = {"id": "h", "kind": "threshold", "kpi": "order_rate", "below": 0.05,
            "fan_out": "product", "and": [{"kpi": "ctr", "above": 0.2}], "recovery": 0.1}
    trans, _ = await run(Evaluator(pack(rule), targets()), r, 9 * 60, every_s=60)
    # fires at once; 0.052 (minutes 4-7) is inside 0.05 * 1.1 so it holds; 0.06 resolves
    assert [(x.state.value, (x.at - r.start_ms) // 60_000) for x in trans] == [
        ("firing", 0), ("resolved", 8)]


async def test_no_data_only_for_live_rooms():
    r = reader({"live": {**STAGE, "silent": [{"from": "1m", "until": "3m"}]},
                "ended": {**STAGE, "broadcast_end": "30s",
                          "silent": [{"from": "1m", "until": "3m"}]}})
    ev = Evaluator(pack({"id": "s", "kind": "no_data", "after": "60s"}), targets())
    trans, _ = await run(ev, r, 200)
    assert [(x.room_id, x.state.value, (x.at - r.start_ms) // 1000) for x in trans] == [
        ("live", "firing", 120), ("live", "resolved", 180)]


async def test_negative_share_uses_the_stage_target_then_the_rule():
    t = targets("stages:\n  conversion:\n    negative_comment_share: {max: 0.2, window: 5m}\n")
    kpis = {"negative_comment_share": {"values": "0.3x5", "denominator": "100x5"}}
    r = reader({"conv": {**STAGE, "kpis": kpis}, "traffic": {"stage": "traffic", "kpis": kpis}})
    ev = Evaluator(pack({"id": "n", "kind": "negative_share", "min_denominator": 20}), t)
    _, last = await run(ev, r, 30)
    assert firing(last) == {("n", "conv", None, None)}
    ev = Evaluator(pack({"id": "n", "kind": "negative_share", "above": 0.25}), t)
    _, last = await run(ev, r, 30)
    assert firing(last) == {("n", "conv", None, None), ("n", "traffic", None, None)}


async def test_source_fan_out():
    r = reader({"room": {**STAGE, "sources": {
        "ads": {"kpis": {"entry_rate": {"values": "0.05x5", "denominator": "400x5"}}},
        "search": {"kpis": {"entry_rate": {"values": "0.5x5", "denominator": "400x5"}}}}}})
    rule = {"id": "src", "kind": "threshold", "kpi": "entry_rate", "below": 0.1,
            "fan_out": "source"}
    _, last = await run(Evaluator(pack(rule), targets()), r, 10)
    assert firing(last) == {("src", "room", None, "ads")}


def test_rule_validation_names_the_problem():
    with pytest.raises(ValidationError, match="needs exactly one of above / below"):
        pack({"id": "x", "kind": "threshold", "kpi": "ctr"})
    with pytest.raises(ValidationError, match="not a product KPI"):
        pack({"id": "x", "kind": "threshold", "kpi": "uv", "below": 1, "fan_out": "product"})
    with pytest.raises(ValidationError, match="rolling window"):
        pack({"id": "x", "kind": "change", "kpi": "ctr", "window": "broadcast"})
    with pytest.raises(ValidationError, match="appears twice"):
        pack({"id": "x", "kind": "no_data"}, {"id": "x", "kind": "no_data"})


def test_default_pack_has_the_seed_rules():
    ids = {r.id for r in RulePack.load().rules}
    assert {"low-early-interaction", "cart-rate-surge", "high-ctr-low-conversion", "room-stalled",
            "negative-comment-wave", "traffic-below-target", "conversion-below-target"} <= ids
