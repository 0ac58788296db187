"""A short simulated broadcast through the real broker matches its truth; replay too."""

from __future__ import annotations

from collections import Counter

import pytest

from schemas.decode import DeadLetter, decode
from streams.produce import EventProducer
from streams.recordings import read_recording
from streams.simulator import SimConfig, record, replay, run_simulation
from tests.streams.kafka_read import read_all
from tests.streams.simulator.conftest import START_MS

pytestmark = pytest.mark.integration

CONFIG = SimConfig(start_ms=START_MS, rooms=2, seed=3, duration_min=8, exposures_per_min=25,
                   bad_events=0.03, duplicates=0.03)


def _recount(msgs) -> tuple[dict, Counter, int]:
    seen, per_room, bad = set(), {}, Counter()
    for m in msgs:
        ev = decode(m.value)
        if isinstance(ev, DeadLetter):
            bad[ev.reason.value] += 1
            assert m.topic.endswith(".views")
            continue
        assert m.key == ev.room_id.encode()
        if ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        per_room.setdefault(ev.room_id, Counter())[ev.type] += 1
    return per_room, bad, len(msgs)


async def test_simulation_into_kafka_matches_truth(stack, topic_settings):
    async with EventProducer(stack.kafka, topic_settings) as producer:
        truth = (await run_simulation(CONFIG, producer)).to_json()
    msgs = await read_all(stack.kafka, topic_settings.inputs, truth["messages"]["total"])
    per_room, bad, total = _recount(msgs)
    assert total == truth["messages"]["total"]
    for room, counts in per_room.items():
        assert dict(counts) == truth["rooms"][room]["totals"]["counts"]
    assert dict(bad) == truth["bad_events"]


async def test_replay_plays_every_recorded_message(stack, topic_settings, tmp_path):
    path = tmp_path / "rec.jsonl"
    truth = record(CONFIG, path).to_json()
    async with EventProducer(stack.kafka, topic_settings) as producer:
        replayed = (await replay(path, producer, speed=None)).to_json()
    assert replayed["rooms"] == truth["rooms"]
    lines = list(read_recording(path))
    msgs = await read_all(stack.kafka, topic_settings.inputs, len(lines))
    per_room, bad, total = _recount(msgs)
    assert total == len(lines)
    assert dict(bad) == truth["bad_events"]
