"""Change rules with a thin baseline window fall back to the member's own broadcast rate."""

import pytest
from pydantic import ValidationError

from alerts.evaluator import Evaluator
from alerts.rules import Rule, RulePack
from alerts.series import Member, SeriesReader, series_of
from schemas.kpis import ProductSnapshot, RoomSnapshot
from tests.alerts.helpers import ACTION, T0, pack, run, targets

SURGE = {"id": "surge", "kind": "change", "kpi": "cart_rate", "fan_out": "product",
         "pinned_only": True, "window": "10m", "by": 0.3, "min_denominator": 30,
         "min_baseline_denominator": 30}
ROBUST = {**SURGE, "thin_baseline_share": 0.5}
# p1 was barely seen in minutes 40-44 (31 clicking users, 20% of them carted); it is pinned
# from minute 45 (200 users a window at its usual 30%). Over the broadcast it carts at 29%.
P1 = {"values": "0.3x39 0.2x4 0.3x15", "denominator": "200x39 31x4 200x15"}


class Reader(SeriesReader):
    """A SeriesReader whose `broadcast` window has series of its own (the others share one)."""

    def __init__(self) -> None:
        super().__init__(T0)
        self.whole: dict[str, Member] = {}
        self.room_whole = Member()

    def product_kpis(self, room_id: str, window: str, now_ms: int | None = None
                     ) -> list[ProductSnapshot]:
        got = super().product_kpis(room_id, window, now_ms)
        if window != "broadcast":
            return got
        m = self._minute(now_ms)
        return [s.model_copy(update={"kpis": self.whole[s.product_id].snapshot(m)})
                for s in got if s.product_id in self.whole]

    def room_kpis(self, room_id: str, window: str, now_ms: int | None = None) -> RoomSnapshot:
        got = super().room_kpis(room_id, window, now_ms)
        if window != "broadcast":
            return got
        return got.model_copy(update={"kpis": self.room_whole.snapshot(self._minute(now_ms))})


def room(product: dict, whole: dict | None, room_whole: dict | None = None) -> Reader:
    r = Reader()
    r.add_room("room-1", {"stage": "conversion", "phase": "live", "pinned": "p1",
                          "products": {"p1": {"name": "精华液", "kpis": {"cart_rate": product}}}})
    if whole is not None:
        r.whole["p1"] = Member("精华液", {"cart_rate": series_of(whole)})
    r.room_whole = Member(None, {"cart_rate": series_of(room_whole or {
        "values": "0.28", "denominator": "9000"})})
    return r


def fired(trans) -> list[tuple[str, float]]:
    return [(t.rule, (t.at - T0) / 60_000) for t in trans if t.state == "firing"]


async def test_a_thin_previous_window_fires_without_the_fallback():
    r = room(P1, {"values": "0.29", "denominator": "3000"})
    trans, _ = await run(Evaluator(pack(SURGE), targets()), r, 58 * 60, every_s=60)
    assert fired(trans) == [("surge", 50.0)]  # the false alert of issue 12


async def test_a_thin_previous_window_is_replaced_by_the_products_broadcast_rate():
    r = room(P1, {"values": "0.29", "denominator": "3000"})
    trans, _ = await run(Evaluator(pack(ROBUST), targets()), r, 58 * 60, every_s=60)
    assert fired(trans) == []


async def test_a_real_surge_against_a_full_previous_window_still_fires():
    surge = {"values": "0.25x49 0.45x9", "denominator": "200x58"}
    r = room(surge, {"values": "0.25", "denominator": "3000"})
    trans, last = await run(Evaluator(pack(ROBUST), targets()), r, 50 * 60, every_s=60)
    assert fired(trans) == [("surge", 50.0)]
    (a,) = last.alerts
    assert a.evidence.baseline == 0.25 and "the previous 10m" in a.summary["en"]


async def test_a_surge_on_a_thin_window_is_measured_against_the_broadcast_rate():
    product = {"values": "0.25x39 0.2x4 0.3x4 0.45x9", "denominator": "200x39 31x4 200x14"}
    r = room(product, {"values": "0.25", "denominator": "3000"})
    trans, last = await run(Evaluator(pack(ROBUST), targets()), r, 50 * 60, every_s=60)
    assert fired(trans) == [("surge", 50.0)]  # 45% vs 25%, not vs the thin 20%
    (a,) = last.alerts
    assert a.evidence.baseline == 0.25
    assert "较本场此前变化+80%" in a.summary["zh-CN"]
    assert "earlier in the broadcast" in a.summary["en"]


async def test_a_product_new_to_the_broadcast_is_measured_against_the_room():
    product = {"values": "0.3x39 0.2x4 0.3x4 0.42x9", "denominator": "200x39 31x4 200x14"}
    r = room(product, {"values": "0.3", "denominator": "10"})  # too few users of its own
    trans, last = await run(Evaluator(pack(ROBUST), targets()), r, 50 * 60, every_s=60)
    assert fired(trans) == [("surge", 50.0)]  # 42% vs the room's 28%
    (a,) = last.alerts
    assert a.evidence.baseline == 0.28 and "the room earlier in the broadcast" in a.summary["en"]


async def test_fallback_room_compares_with_the_room_over_the_baseline_window():
    r = room(P1, None)
    r.rooms_["room-1"].kpis = Member(None, {"cart_rate": series_of(
        {"values": "0.29", "denominator": "4000"})})
    rules = pack({**ROBUST, "thin_fallback": "room"})
    trans, _ = await run(Evaluator(rules, targets()), r, 58 * 60, every_s=60)
    assert fired(trans) == []


def test_thin_baseline_share_needs_a_change_rule_on_a_fan_out():
    with pytest.raises(ValidationError, match="thin_baseline_share"):
        Rule.model_validate({**ROBUST, "fan_out": "room", "pinned_only": False,
                             "action": ACTION})
    assert RulePack.load().get("cart-rate-surge").thin_baseline_share > 0
