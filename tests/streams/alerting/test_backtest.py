"""Backtests on simulator broadcasts: each scenario fires its rule on the right room/product."""

from __future__ import annotations

import pytest

from alerts.rules import RulePack
from alerts.targets import Targets
from streams.alerting.backtest import backtest_values
from streams.simulator.config import ScenarioSpec, SimConfig
from streams.simulator.generate import Simulation

START = 1_767_240_000_000
MIN = 60_000


def simulate(rooms: int, minutes: int, scenarios: list[str], seed: int = 7):
    cfg = SimConfig(start_ms=START, rooms=rooms, seed=seed, duration_min=minutes,
                    scenarios=tuple(ScenarioSpec.parse(s) for s in scenarios))
    sim = Simulation(cfg)
    values = [m.value for m in sim.messages()]
    return values, sim.scenarios


@pytest.fixture(scope="module")
async def scenario_run():
    values, truth = simulate(4, 40, ["low-early-interaction:room-1", "cart-surge:room-2",
                                     "stream-stall:room-3", "negative-comments:room-4"])
    res = await backtest_values(values, RulePack.load(), Targets.load(), step_ms=30_000)
    return res, {t["name"]: t for t in truth}


def fired(res, rule):
    return [t for t in res.transitions if t.rule == rule and t.state in ("firing", "resolved")]


EXPECT = [  # scenario -> rule, and the most evaluations it may take past the scenario start
    ("low-early-interaction", "low-early-interaction", 6 * MIN),
    ("cart-surge", "cart-rate-surge", 8 * MIN),
    ("stream-stall", "room-stalled", 90_000),
    ("negative-comments", "negative-comment-wave", 4 * MIN),
]


@pytest.mark.parametrize("scenario,rule,within", EXPECT, ids=[e[0] for e in EXPECT])
async def test_each_scenario_fires_its_rule_on_the_right_room_and_resolves(
        scenario_run, scenario, rule, within):
    res, truth = scenario_run
    sc = truth[scenario]
    transitions = fired(res, rule)
    assert [(t.room_id, t.state.value) for t in transitions] == [
        (sc["room_id"], "firing"), (sc["room_id"], "resolved")]
    on, off = transitions
    assert sc["start_ms"] <= on.at <= sc["start_ms"] + within
    assert off.at >= sc["end_ms"] - 60_000  # resolves once the condition has gone
    if scenario == "cart-surge":
        assert on.labels == {"product_id": sc["product_id"]}


async def test_no_other_rule_fires_in_the_scenario_run(scenario_run):
    res, _ = scenario_run
    wanted = {rule for _, rule, _ in EXPECT}
    assert [t for t in res.fired() if t.rule not in wanted] == []


async def test_baseline_five_rooms_two_hours_raises_nothing():
    values, _ = simulate(5, 120, [], seed=11)
    res = await backtest_values(values, RulePack.load(), Targets.load(), step_ms=60_000)
    assert res.events > 100_000 and not res.dead_letters
    assert [(t.rule, t.room_id, t.at) for t in res.fired()] == []
