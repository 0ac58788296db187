"""The `pace` rule kind: the broadcast GMV projected to the planned end against its goal."""

import pytest
from pydantic import ValidationError

from alerts.evaluator import Evaluator
from alerts.lifecycle import Cond
from alerts.pace import pace_reading, project
from alerts.rules import Rule
from schemas.kpis import KpiValue
from tests.alerts.helpers import ACTION, T0, pack, reader, targets

MIN = 60_000
PACE = {"id": "gmv-pace", "kind": "pace", "kpi": "gmv", "goal": 3_000_000, "planned": "2h",
        "below": 0.8, "scope": {"after": "15m"},
        "action": {"zh-CN": "主播加推爆款并发放限时券",
                   "en": "Push the best seller; time-limited coupon"}}
# GMV since the start: 15,500 a minute (minute 30: 465,000, which is 1,860,000 by minute 120)
SLOW = {"stage": "conversion", "phase": "live", "kpis": {"gmv": "0+15500x119"}}


def test_projection_is_linear_up_to_the_planned_end():
    assert project(465_000, 30 * MIN, 120 * MIN) == 1_860_000
    assert project(2_000_000, 130 * MIN, 120 * MIN) == 2_000_000  # overran: the total is known
    with pytest.raises(ValueError):
        project(1, 0, 120 * MIN)


def test_pace_reading_breaches_below_the_share_and_clears_past_the_recovery_margin():
    def cond(gmv: float) -> Cond | None:
        got = pace_reading("gmv", KpiValue(value=gmv), 3_000_000, 60 * MIN, 120 * MIN, 0.8, 0.1)
        return None if got is None else got[0]

    assert cond(1_190_000) == Cond.breach  # 2,380,000 = 79%
    assert cond(1_200_000) == Cond.hold  # 80%: no longer below, not yet 88%
    assert cond(1_321_000) == Cond.clear  # 88.07%
    assert cond(0) == Cond.breach
    got = pace_reading("gmv", KpiValue(value=None), 3_000_000, MIN, 120 * MIN, 0.8, 0.1)
    assert got is None  # nothing read: no series
    _, ev = pace_reading("gmv", KpiValue(value=465_000), 3_000_000, 30 * MIN, 120 * MIN, 0.8, 0)
    assert (ev.value, ev.numerator, ev.target, ev.window) == (1_860_000, 465_000, 3_000_000,
                                                              "broadcast")


async def evaluate_at(ev: Evaluator, r, minute: float):
    r.now_ms = T0 + int(minute * MIN)
    return await ev.evaluate(r)


async def test_fires_with_the_projected_share_of_the_target_in_both_languages():
    r = reader({"room-1": SLOW})
    ev = Evaluator(pack(PACE), targets())
    assert (await evaluate_at(ev, r, 14)).alerts == []  # scope: after 15 minutes
    (a,) = (await evaluate_at(ev, r, 30)).alerts
    assert a.state == "firing" and a.starts_at == T0 + 30 * MIN and a.minutes_since_start == 30
    assert a.evidence.value == 1_860_000 and a.evidence.numerator == 465_000
    en, action_en = a.text("en")
    zh, action_zh = a.text("zh-CN")
    assert en == ("room-1: at this pace 62% of the GMV target by the end (1,860,000.00 of "
                  "3,000,000.00; 465,000.00 so far, minute 30 of the broadcast)")
    assert zh == ("room-1：按当前节奏，本场GMV预计1,860,000.00，仅为目标3,000,000.00的62%"
                  "（已达成465,000.00，开播第30分钟）")
    assert (action_zh, action_en) == ("主播加推爆款并发放限时券",
                                      "Push the best seller; time-limited coupon")


async def test_on_pace_raises_nothing_and_a_recovered_pace_resolves():
    fast = {**SLOW, "kpis": {"gmv": "0+25000x119"}}  # 3,000,000 by minute 120
    ev = Evaluator(pack(PACE), targets())
    r = reader({"room-1": fast})
    assert [(await evaluate_at(ev, r, m)).alerts for m in (20, 60, 100)] == [[], [], []]
    # slow for 30 minutes, then a best seller: 465,000 + 60,000 a minute from minute 31
    late = {**SLOW, "kpis": {"gmv": "0+15500x30 525000+60000x88"}}
    r = reader({"room-1": late})
    ev = Evaluator(pack(PACE), targets())
    assert [a.state for a in (await evaluate_at(ev, r, 30)).alerts] == ["firing"]
    assert [a.state for a in (await evaluate_at(ev, r, 40)).alerts] == ["resolved"]  # 3.1M


async def test_the_goal_can_come_from_the_stage_targets_and_is_needed():
    rule = {k: v for k, v in PACE.items() if k != "goal"}
    ev = Evaluator(pack(rule), targets())
    r = reader({"room-1": SLOW})
    assert (await evaluate_at(ev, r, 30)).alerts == []  # no goal anywhere: no series
    with_goal = targets("stages: {conversion: {gmv: {min: 2500000, window: broadcast}}}")
    ev = Evaluator(pack(rule), with_goal)
    (a,) = (await evaluate_at(ev, r, 30)).alerts
    assert a.state == "firing" and a.evidence.target == 2_500_000
    assert "at this pace 74% of the GMV target" in a.text("en")[0]  # 1,860,000 / 2,500,000
    # a goal on another window is not a broadcast goal; neither is one of another stage
    for text in ("stages: {conversion: {gmv: {min: 2500000, window: 10m}}}",
                 "stages: {traffic: {gmv: {min: 2500000, window: broadcast}}}"):
        ev = Evaluator(pack(rule), targets(text))
        assert (await evaluate_at(ev, r, 30)).alerts == []


def test_a_pace_rule_needs_a_planned_length_a_share_and_a_room_total():
    for bad in ({"planned": None}, {"below": None}, {"kpi": "ctr"},
                {"fan_out": "product"}):
        with pytest.raises(ValidationError, match="pace rule"):
            Rule.model_validate({**PACE, **bad, "action": ACTION})
