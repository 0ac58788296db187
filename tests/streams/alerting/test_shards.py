"""Room reads shared by several child processes (streams.alerting.shards) against a real valkey:
the shards are disjoint and complete, together they read what the worker reads, and a killed
child costs one tick read in the worker."""

from __future__ import annotations

import os
import signal

import pytest
from prometheus_client import CollectorRegistry

from alerts.evalmetrics import TickStats
from alerts.evaluator import in_shard
from alerts.remote import RoomReads
from alerts.rules import RulePack
from alerts.targets import Targets
from streams.alerting.evalproc import ChildSpec
from streams.alerting.shards import ShardedReads, merge_reads
from streams.kpi.config import KpiSettings
from tests.streams.alerting.readcheck import MIN, ROOMS, START, evaluator, outcome


def test_every_room_is_in_exactly_one_shard() -> None:
    rooms = [f"room-{i}" for i in range(500)] + ["直播间-1", "x}y", "", "\ud800"]
    for n in (1, 2, 3, 5):
        owners = [[i for i in range(n) if in_shard(r, i, n)] for r in rooms]
        assert all(len(o) == 1 for o in owners), n
        if n > 1:  # and the split is not lopsided
            sizes = [sum(o == [i] for o in owners) for i in range(n)]
            assert min(sizes) > 0.7 * len(rooms) / n, sizes


def test_merged_reads_are_the_union_with_counts_added() -> None:
    a = RoomReads({"f1": ("r", "room-1", None, 1.0)}, {"room-3"}, {("rule", "room-1")},  # type: ignore[dict-item]  # a reading's shape does not matter here
                  TickStats(live=2, evaluated=1, skipped=1, seconds=0.4, rule_errors=1))
    b = RoomReads({"f2": ("r", "room-2", None, 2.0)}, set(), set(),  # type: ignore[dict-item]  # as above
                  TickStats(live=3, evaluated=3, failed=0, seconds=0.6, room_errors=2))
    m = merge_reads([a, b])
    assert set(m.readings) == {"f1", "f2"}
    assert m.untouched == {"room-3"} and m.failed_rules == {("rule", "room-1")}
    assert m.stats == TickStats(live=5, evaluated=4, skipped=1, failed=0, seconds=0.6,
                                room_errors=2, rule_errors=1)




@pytest.fixture
def shards(stack, seeded):
    reg = CollectorRegistry()
    remote = ShardedReads(ChildSpec(stack.redis, KpiSettings(key_prefix=seeded)), 2,
                          registry=reg)
    remote.registry = reg  # for the test's reads
    yield remote
    remote.close()


@pytest.mark.integration
@pytest.mark.asyncio(loop_scope="session")
async def test_two_children_together_read_what_the_worker_reads(store, shards):
    rules, targets = RulePack.load(), Targets.load()
    here, there = evaluator(store, rules, targets), evaluator(store, rules, targets)
    there.remote = shards
    states = set()
    for tick in range(3, 120):  # every 20 s of stream time, minutes 1 to 40
        now = START + tick * 20_000 + 7_000
        a, b = await here.evaluate(store, now), await there.evaluate(store, now)
        assert outcome(a) == outcome(b), tick
        assert there.last_tick.live == ROOMS and there.last_tick.evaluated == ROOMS
        assert {fp: s.model_dump() for fp, s in here.series.items()} == \
            {fp: s.model_dump() for fp, s in there.series.items()}
        states |= {t.state.value for t in a.transitions}
    assert {"pending", "firing"} <= states
    pids = shards.pids
    assert len(set(pids)) == 2 and None not in pids and os.getpid() not in pids


@pytest.mark.integration
@pytest.mark.asyncio(loop_scope="session")
async def test_a_killed_child_costs_one_tick_read_in_the_worker(store, shards):
    rules, targets = RulePack.load(), Targets.load()
    ev = evaluator(store, rules, targets)
    ev.remote = shards
    here = evaluator(store, rules, targets)
    now = START + 20 * MIN
    await ev.evaluate(store, now)
    await here.evaluate(store, now)
    first, other = shards.pids
    assert first is not None
    os.kill(first, signal.SIGKILL)
    for t in (1, 2):  # the broken tick reads in the worker; the next one in a new child
        a, b = await here.evaluate(store, now + t * 1000), await ev.evaluate(store, now + t * 1000)
        assert outcome(a) == outcome(b)
        assert ev.last_tick.evaluated == ROOMS
    assert shards.pids[0] not in (None, first) and shards.pids[1] == other
    assert shards.registry.get_sample_value("roompulse_alert_process_restarts_total") == 1
