"""Truth equals a recount of the recording; bad events and schemas per the done-criterion."""

from __future__ import annotations

from collections import Counter

import jsonschema
import pytest

from schemas.decode import DeadLetter, decode
from schemas.events import EVENT_TYPES
from schemas.export import schema_for
from streams.recordings import read_recording
from streams.simulator import Simulation, Truth
from streams.simulator.badevents import BAD_REASONS
from streams.simulator.recording import line_for
from tests.streams.simulator.conftest import full_config


def test_truth_equals_recount_of_recording(recorded):
    path, truth, records = recorded
    recount = Truth()
    for rec in read_recording(path):
        recount.observe(rec.obj, rec.expect)
    mine = recount.to_json()
    assert mine["rooms"] == truth["rooms"]
    assert mine["bad_events"] == truth["bad_events"]
    assert mine["duplicates_injected"] == truth["duplicates_injected"] > 0


def test_truth_counts_match_a_plain_count(recorded, events):
    truth = recorded[1]
    by_room: dict[str, Counter] = {}
    gmv: Counter = Counter()
    for ev in events:
        by_room.setdefault(ev["room_id"], Counter())[ev["type"]] += 1
        if ev["type"] == "order":
            gmv[ev["room_id"]] += round(ev["amount"] * 100) * (1 if ev["status"] == "paid" else -1)
    for room, counts in by_room.items():
        t = truth["rooms"][room]["totals"]
        assert t["counts"] == dict(counts)
        assert t["net_cents"] == gmv[room]
        minute_sum = Counter()
        for m in truth["rooms"][room]["minutes"].values():
            minute_sum.update(m["counts"])
        assert minute_sum == counts
    dups = sum(1 for r in recorded[2] if r.obj is not None) - len(events)
    assert truth["duplicates_injected"] == dups


def test_every_bad_event_is_classified_as_expected(recorded):
    bad = [r for r in recorded[2] if r.expect is not None]
    assert {r.expect for r in bad} == {r.value for r in BAD_REASONS}
    for rec in bad:
        result = decode(rec.value)
        assert isinstance(result, DeadLetter), rec.value[:200]
        assert result.reason.value == rec.expect, (rec.value[:200], result)


def test_recording_round_trips_bytes_exactly(tmp_path):
    cfg = full_config(rooms=2, duration_min=10, exposures_per_min=30, bad_events=0.2,
                      scenarios=())
    msgs = list(Simulation(cfg).messages())
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(line_for(m) for m in msgs))
    back = list(read_recording(path))
    assert [(r.key, r.value, r.expect) for r in back] == [(m.key, m.value, m.expect) for m in msgs]
    assert any(b"\n" in m.value or not m.value.startswith(b"{") for m in msgs if m.expect)


@pytest.fixture(scope="module")
def small_events() -> list[dict]:
    cfg = full_config(duration_min=60, exposures_per_min=25, bad_events=0, duplicates=0)
    return [m.event for m in Simulation(cfg).messages()]


def test_every_good_event_validates_against_exported_schema_and_decoder(small_events):
    validators = {}
    types = set()
    for ev in small_events:
        t = ev["type"]
        types.add(t)
        if t not in validators:
            validators[t] = jsonschema.Draft202012Validator(schema_for(t))
        validators[t].validate(ev)
    assert types == set(EVENT_TYPES)  # host_change, roles and age bands included
    import orjson
    for ev in small_events:
        assert not isinstance(decode(orjson.dumps(ev)), DeadLetter), ev
