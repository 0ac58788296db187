"""The backtest goes through the one ingest path: hostile input changes no KPI and no alert,
bad-event recordings finish, and the batch split cannot change a KPI (live = backtest)."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.rules import RulePack
from alerts.targets import Targets
from streams.alerting.backtest import backtest_file, backtest_values
from streams.ingest.limits import LiveRooms
from streams.ingest.prepare import IngestState, prepare
from streams.ingest.timepolicy import TimePolicy
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_base import Outcome
from streams.kpi.store_memory import InMemoryKpiStore, run_sync
from streams.settings import TopicSettings
from streams.simulator.config import ScenarioSpec, SimConfig
from streams.simulator.runner import record
from streams.topics import topic_for
from streams.worker.config import WorkerSettings
from tests.streams.alerting.hostile import START, clean_values, make_hostile, snapshot


@pytest.fixture(scope="module")
async def stall_pair():
    clean, truth = clean_values(2, 24, seed=5, scenarios=("stream-stall:room-2",))
    hostile = make_hostile(clean, seed=9)
    rules, targets = RulePack.load(), Targets.load()
    a = await backtest_values(clean, rules, targets, step_ms=30_000)
    b = await backtest_values(hostile.lines, rules, targets, step_ms=30_000)
    return a, b, hostile, truth[0]


async def test_hostile_recording_gives_the_clean_kpis(stall_pair):
    clean, hostile, _, _ = stall_pair
    assert clean.last_ms == hostile.last_ms and clean.first_ms == hostile.first_ms
    assert clean.events == hostile.events
    for at in (clean.first_ms + 5 * 60_000, clean.last_ms):
        assert await snapshot(hostile.store, at) == await snapshot(clean.store, at)


async def test_hostile_noise_is_counted_where_it_belongs(stall_pair):
    clean, res, noise, _ = stall_pair
    assert not clean.dead_letters and clean.duplicates == 0
    assert dict(res.dead_letters) == noise.injected
    assert res.duplicates == noise.duplicates
    assert res.messages == len(noise.lines)
    assert res.events + res.duplicates + sum(res.dead_letters.values()) == res.messages


async def test_hostile_recording_raises_no_false_alert(stall_pair):
    clean, hostile, _, scenario = stall_pair
    as_tuples = [(t.rule, t.room_id, t.state.value, t.at) for t in hostile.transitions]
    assert as_tuples == [(t.rule, t.room_id, t.state.value, t.at) for t in clean.transitions]
    fired = [(t.rule, t.room_id) for t in hostile.fired()]
    assert fired == [("room-stalled", scenario["room_id"])]
    assert hostile.evaluations == clean.evaluations  # far-future lines added no step


async def test_bad_events_recording_finishes_and_matches_its_truth(tmp_path):
    path = tmp_path / "bad.jsonl"
    cfg = SimConfig(start_ms=START, rooms=2, seed=3, duration_min=12, exposures_per_min=100,
                    bad_events=0.05, duplicates=0.03,
                    scenarios=(ScenarioSpec.parse("stream-stall:room-1"),))
    truth = record(cfg, path).to_json()
    # A hang regression: before, one future_ts line stepped the timeline ten years ahead.
    res = await asyncio.wait_for(backtest_file(path, step_ms=10_000), timeout=120)
    assert truth["bad_events"]["future_ts"] > 0
    assert dict(res.dead_letters) == truth["bad_events"]
    assert res.duplicates == truth["duplicates_injected"]
    assert res.events == truth["messages"]["unique_events"]
    assert res.messages == truth["messages"]["total"]
    assert res.evaluations <= 12 * 6 + 3  # one per 10 s of the broadcast, and the last two
    assert {t.room_id for t in res.fired()} <= {"room-1"}


# --- live and backtest cannot diverge -------------------------------------------------------

KPI = KpiSettings()
TOPICS = TopicSettings()
_CLEAN, _ = clean_values(2, 6, seed=21, exposures_per_min=60)
_HOSTILE = make_hostile(_CLEAN, seed=22)
_END = orjson.loads(_CLEAN[-1])["ts"]


def _backtest_store() -> InMemoryKpiStore:
    res = asyncio.run(backtest_values(_HOSTILE.lines, RulePack.load(), Targets.load(),
                                      step_ms=10_000))
    return res.store


_BACKTEST = _backtest_store()


def _live(cuts: list[int]) -> InMemoryKpiStore:
    """What a worker would store: the same messages fetched in other batches, `now` its wall
    clock at each fetch (the newest send time so far), through prepare and the checked apply."""
    store = InMemoryKpiStore(KPI)
    rooms = LiveRooms(KPI.max_live_rooms, KPI.room_idle_s * 1000, KPI.max_products_per_room)
    state = IngestState(WorkerSettings().dedup_size, rooms)
    policy = TimePolicy.from_settings(KPI)
    offsets: dict[str, int] = {}
    chain: dict[tuple[str, int], int] = {}
    bounds = [0, *sorted(set(cuts)), len(_HOSTILE.lines)]
    for lo, hi in pairwise(bounds):
        if lo == hi:
            continue
        parts: dict[tuple[str, int], list] = {}
        for line in _HOSTILE.lines[lo:hi]:
            topic = _topic(line)
            off = offsets.get(topic, 0)
            offsets[topic] = off + 1
            parts.setdefault((topic, 0), []).append(
                SimpleNamespace(offset=off, key=None, value=_value(line)))
        now = max(_HOSTILE.sent_at[lo:hi])
        starts = {tp: chain.get(tp, -1) for tp in parts}
        p = prepare(list(parts.items()), state, BatchFolder(KPI, rooms.product), policy, now)
        result = run_sync(store.apply(p.delta, p.offsets, "live", now, starts))
        assert result.outcome is Outcome.APPLIED
        chain.update(p.offsets)
    return store


def _topic(line: bytes) -> str:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return TOPICS.name("views")
    kind = obj.get("type") if isinstance(obj, dict) else None
    return topic_for(kind if isinstance(kind, str) else None, TOPICS)


def _value(line: bytes) -> bytes:
    if line.startswith(b'{"_raw":'):
        return b""  # a broken envelope: no message (dead-lettered either way)
    return line


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, len(_HOSTILE.lines) - 1), max_size=40))
def test_live_batches_and_backtest_store_the_same_kpis(cuts):
    live = _live(cuts)
    for at in (_END - 4 * 60_000, _END):
        assert run_sync(snapshot(live, at)) == run_sync(snapshot(_BACKTEST, at))


async def test_a_gap_of_days_is_accepted_and_its_evaluations_are_bounded():
    """Two broadcasts two days apart: the second is no outlier (every message of it agrees),
    and the timeline steps through 720 steps of the gap, then jumps."""
    first, _ = clean_values(1, 4, seed=31, exposures_per_min=60)
    later = [orjson.dumps({**ev, "event_id": f"d2-{ev['event_id']}", "ts": ev["ts"] + 2 * DAY})
             for ev in map(orjson.loads, first)]
    step = 10_000
    res = await asyncio.wait_for(
        backtest_values(first + later, RulePack.load(), Targets.load(), step_ms=step), 120)
    assert not res.dead_letters and res.events == 2 * len(first)
    # every step boundary after the first event is evaluated or skipped, then the last two
    boundaries = res.last_ms // step - res.first_ms // step + 2
    assert res.skipped_steps > 0
    assert res.evaluations + res.skipped_steps == boundaries
    assert res.evaluations <= 720 + 2 * 4 * 6 + 2


DAY = 86_400_000
