"""NeedsCache: the cached dry run equals a fresh one at every moment, for every room."""

from __future__ import annotations

import random

import pytest

from alerts.needscache import NeedsCache, breakpoints
from alerts.roomreading import needs_of
from alerts.rules import RulePack
from alerts.targets import Targets
from schemas.kpis import RoomState
from tests.alerts.helpers import T0, pack

MIN = 60_000
# Every rule kind, scopes with `first` and `after`, change rules with each baseline.
EXTRA = pack(
    {"id": "pace", "kind": "pace", "kpi": "gmv", "goal": 3_000_000, "planned": "2h",
     "below": 0.8, "scope": {"after": "15m"}},
    {"id": "hist", "kind": "history", "kpi": "interaction_rate", "window": "10m", "by": 0.3},
    {"id": "early", "kind": "threshold", "kpi": "ctr", "window": "first:30m", "below": 0.01,
     "scope": {"first": "30m"}},
    {"id": "trail", "kind": "change", "kpi": "cart_rate", "fan_out": "product", "window": "5m",
     "baseline": "trailing:30m", "by": 0.3, "min_denominator": 5},
    {"id": "whole", "kind": "change", "kpi": "ctr", "window": "10m", "baseline": "broadcast",
     "by": 0.3},
)


def _rules(which: str) -> list:
    rules = RulePack.load().rules if which == "default" else EXTRA.rules
    return [r for r in rules if r.enabled]


@pytest.mark.parametrize("which", ["default", "extra"])
async def test_cached_needs_equal_a_fresh_dry_run_across_moments_and_rooms(which: str):
    rules = _rules(which)
    ids = tuple(map(id, rules))
    targets = Targets.load()
    cache = NeedsCache()
    rnd = random.Random(7)
    cases = []
    for since in range(0, 200 * MIN, 7_000):
        for room in ("r1", "r2"):
            for stage in ("traffic", "conversion", "retention", None):
                cases.append((since, room, stage, rnd.choice(["live", "warmup", None]),
                              rnd.choice([f"{room}-p1", f"{room}-p2", None])))
    rnd.shuffle(cases)  # answers made at one moment must not leak into another
    for since, room, stage, phase, pinned in cases[:6000]:
        now = T0 + 3 * 3600_000 + since
        state = RoomState(room_id=room, brand_id="b1", stage=stage, phase=phase,
                          broadcast_start_ms=now - since, last_event_ms=now - 500, live=True,
                          pinned_product_id=pinned)
        rt = targets.resolve(room, "b1", stage, phase, now)
        moment = targets.moment(rt.stage, rt.phase, now, state.broadcast_start_ms)
        got = await cache.needs(rules, ids, state, rt, moment)
        assert got == await needs_of(rules, state, rt, moment), (since, room, stage, pinned)
    assert cache.hits > 10 * cache.misses  # and it is a cache


def test_breakpoints_hold_every_duration_the_rules_compare_the_broadcast_time_with():
    rules = _rules("extra")
    rt = Targets.load().resolve("r", "b", "conversion", "live", T0)
    got = breakpoints(rules, rt)
    for want in (1, 15 * MIN, 30 * MIN, 35 * MIN, 20 * MIN):  # pace, scopes, 5m+30m, 10m+10m
        assert want in got
