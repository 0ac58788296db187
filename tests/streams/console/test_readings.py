"""How the console judges KPIs against targets and picks what to show (pure logic)."""

from __future__ import annotations

import pytest

from alerts.targets import KpiTarget, Targets, TargetsFile
from schemas.kpis import RoomState
from streams.console.readings import DEFAULT_KEY_KPIS, Readings, judge, kpi_kind
from streams.kpi.store_memory import InMemoryKpiStore


@pytest.mark.parametrize("value,bounds,status", [
    (0.02, {"min": 0.03}, "below"), (0.03, {"min": 0.03}, "ok"), (0.5, {"max": 0.25}, "above"),
    (0.1, {"min": 0.05, "max": 0.2}, "ok"), (None, {"min": 0.03}, "nodata"),
])
def test_judge(value, bounds, status):
    assert judge(value, KpiTarget(**bounds)) == status


def test_judge_without_target():
    assert judge(0.1, None) == "none" and judge(None, None) == "nodata"


@pytest.mark.parametrize("kpi,kind", [
    ("ctr", "rate"), ("cart_rate", "rate"), ("entry_share", "rate"), ("repurchase_rate_7d", "rate"),
    ("avg_stay_ms", "ms"), ("gmv", "money"), ("aov", "money"), ("orders", "count"),
    ("online_viewers", "count"),
])
def test_kpi_kind(kpi, kind):
    assert kpi_kind(kpi) == kind


def test_key_kpis_come_from_the_stage_targets_else_defaults():
    targets = Targets(TargetsFile.model_validate({"stages": {"traffic": {
        "entry_rate": {"min": 0.2, "window": "10m"},
        "ctr": {"min": 0.1, "window": "5m", "per": "product"}}}}))
    state = RoomState(room_id="r1", stage="traffic", phase="live")
    stage, phase, keyed = Readings(InMemoryKpiStore(), targets)._key_targets(state, 0)
    assert (stage, phase) == ("traffic", "live")
    # product targets are not room KPIs
    assert [(k, t.min) for k, t in keyed] == [("entry_rate", 0.2)]
    _, _, keyed = Readings(InMemoryKpiStore(), None)._key_targets(state, 0)
    assert [k for k, _ in keyed] == list(DEFAULT_KEY_KPIS["traffic"]) and keyed[0][1] is None
