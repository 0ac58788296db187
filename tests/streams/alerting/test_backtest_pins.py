"""cart-rate-surge at double traffic with a pin change every 2 minutes (issue 12).

Most pinned products were barely clicked in the previous window; the default rule compares
them with their own broadcast rate instead (alerts/defaults/rules.yaml, thin_baseline_share).
"""

from __future__ import annotations

import pytest

import streams.simulator.clock as sim_clock
from alerts.rules import RulePack
from alerts.targets import Targets
from streams.alerting.backtest import backtest_values
from streams.simulator.config import DEFAULT_EXPOSURES_PER_MIN, ScenarioSpec, SimConfig
from streams.simulator.generate import Simulation

START = 1_767_240_000_000
MIN = 60_000


def simulate(rooms: int, minutes: int, scenarios: list[str], seed: int):
    cfg = SimConfig(start_ms=START, rooms=rooms, seed=seed, duration_min=minutes,
                    exposures_per_min=2 * DEFAULT_EXPOSURES_PER_MIN,  # scale 2
                    scenarios=tuple(ScenarioSpec.parse(s) for s in scenarios))
    sim = Simulation(cfg)
    return [m.value for m in sim.messages()], {t["name"]: t for t in sim.scenarios}


@pytest.fixture
def frequent_pins(monkeypatch):
    monkeypatch.setattr(sim_clock, "PIN_EVERY_MIN", 2)


async def test_frequent_pin_changes_at_double_traffic_raise_no_cart_surge(frequent_pins):
    values, _ = simulate(3, 120, [], seed=11)
    res = await backtest_values(values, RulePack.load(), Targets.load(), step_ms=30_000)
    pins = sum(1 for v in values if b'"product_pinned"' in v)
    assert pins >= 3 * 55  # a new product on screen every 2 minutes in each room
    assert [(t.rule, t.room_id, t.at) for t in res.fired()] == []


async def test_the_real_surge_still_fires_with_frequent_pin_changes(frequent_pins):
    values, truth = simulate(2, 60, ["cart-surge:room-2"], seed=7)
    res = await backtest_values(values, RulePack.load(), Targets.load(), step_ms=30_000)
    sc = truth["cart-surge"]
    fired = [t for t in res.fired()]
    assert [(t.rule, t.room_id, t.labels) for t in fired] == [
        ("cart-rate-surge", "room-2", {"product_id": sc["product_id"]})]
    assert sc["start_ms"] <= fired[0].at <= sc["start_ms"] + 8 * MIN
