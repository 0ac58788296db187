"""Backtest input formats, detected per line, and the recording's clock."""

from __future__ import annotations

import base64
import io

import orjson
import pytest

from alerts.rules import RulePack
from alerts.targets import Targets
from schemas.events import MAX_FUTURE_MS
from streams.alerting.backtest import backtest_file
from streams.alerting.recclock import EVIDENCE, RecordingClock
from streams.alerting.recordings import MAX_LINE_BYTES, InputRecord, LineReader
from streams.settings import TopicSettings
from streams.simulator.badevents import TEN_YEARS_MS
from streams.topics import topic_for
from tests.streams.alerting.hostile import clean_values, snapshot

TOPICS = TopicSettings()


def read(data: bytes) -> list[InputRecord]:
    return list(LineReader(TOPICS).read(io.BytesIO(data)))


def test_each_line_is_detected_on_its_own():
    ev = {"type": "like", "event_id": "e1", "room_id": "r1", "ts": 1_767_240_000_000,
          "user_id": "u1"}
    bad = b"\xff\xfe garbage"
    data = b"\n".join([
        orjson.dumps(ev),  # a plain event (and a simulator recording's good line)
        orjson.dumps({"_raw": base64.b64encode(bad).decode(), "_key": "r1",
                      "_expect": "not_json"}),  # a simulator recording's wrapped bad message
        orjson.dumps({"topic": "t-a", "key": "k", "value": ev, "timestamp": 1_767_240_000_500}),
        orjson.dumps({"topic": "t-a", "value": orjson.dumps(ev).decode()}),  # value a string
        b"not json at all",
        b"   ",  # blank: skipped
        b'{"_raw":"%%%"}',  # a broken envelope
        b"[1, 2]\r",
    ]) + b"\n"
    recs = read(data)
    interactions = topic_for("like", TOPICS)
    views = TOPICS.name("views")
    assert [(r.topic, r.offset, r.key, r.line) for r in recs] == [
        (interactions, 0, b"r1", 1), (views, 0, b"r1", 2), ("t-a", 0, b"k", 3),
        ("t-a", 1, None, 4), (views, 1, None, 5), (views, 2, None, 7), (views, 3, None, 8)]
    assert recs[0].value == orjson.dumps(ev) and recs[0].hint == ev["ts"]
    assert recs[1].value == bad and recs[1].hint is None
    assert orjson.loads(recs[2].value) == ev and recs[2].timestamp == 1_767_240_000_500
    assert recs[3].value == orjson.dumps(ev) and recs[3].timestamp is None
    assert recs[3].hint == ev["ts"]
    assert recs[4].value == b"not json at all" and recs[4].reject is None
    assert recs[5].reject == "not_json" and recs[5].value is None
    assert recs[6].value == b"[1, 2]"


def test_an_overlong_line_is_one_too_large_record_never_held_whole():
    data = b"x" * (3 * MAX_LINE_BYTES + 7) + b"\n" + b'{"type":"like"}\n'
    recs = read(data)
    assert [(r.reject, r.line) for r in recs] == [("too_large", 1), (None, 2)]


def _write(path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


@pytest.fixture(scope="module")
def stall_values():
    values, truth = clean_values(2, 24, seed=6, scenarios=("stream-stall:room-1",))
    return values, truth[0]


async def test_the_three_formats_give_the_same_kpis_and_alerts(tmp_path, stall_values):
    values, scenario = stall_values
    events = [orjson.loads(v) for v in values]
    plain = tmp_path / "plain.jsonl"
    _write(plain, values)
    sim = tmp_path / "sim.jsonl"  # with the simulator's wrapped bad messages mixed in
    wrapped = orjson.dumps({"_raw": base64.b64encode(b"\x80oops").decode(), "_key": "room-1",
                            "_expect": "not_json"})
    _write(sim, [x for i, v in enumerate(values) for x in ((v, wrapped) if i % 97 == 5 else (v,))])
    topics = tmp_path / "topics.jsonl"
    lines = []
    for i, (v, ev) in enumerate(zip(values, events, strict=True)):
        row: dict = {"topic": topic_for(ev["type"], TOPICS),
                     "value": ev if i % 2 else v.decode()}
        if i % 3:
            row["key"] = ev["room_id"]
        if i % 5 == 0:
            row["timestamp"] = ev["ts"] + 20
        lines.append(orjson.dumps(row))
    _write(topics, lines)

    rules, targets = RulePack.load(), Targets.load()
    results = {p.name: await backtest_file(p, rules, targets, step_ms=30_000)
               for p in (plain, sim, topics)}
    base = results["plain.jsonl"]
    assert base.events == len(values) and not base.dead_letters
    assert [(t.rule, t.room_id) for t in base.fired()] == [("room-stalled", scenario["room_id"])]
    wrapped_count = sum(1 for i in range(len(values)) if i % 97 == 5)
    assert wrapped_count > 0
    assert dict(results["sim.jsonl"].dead_letters) == {"not_json": wrapped_count}
    want = await snapshot(base.store, base.last_ms)
    assert len({room for room, _ in want}) == 2
    for name, res in results.items():
        assert res.events == base.events, name
        assert [(t.rule, t.room_id, t.state, t.at) for t in res.transitions] == \
            [(t.rule, t.room_id, t.state, t.at) for t in base.transitions], name
        assert await snapshot(res.store, base.last_ms) == want, name


# --- the recording's clock -----------------------------------------------------------------

T0 = 1_767_240_000_000


def _rec(i: int, hint: int | None, timestamp: int | None = None) -> InputRecord:
    return InputRecord("t", i, None, b"", timestamp, hint)


def _run(hints: list[int | None], timestamps: dict[int, int] | None = None):
    clock = RecordingClock()
    out = []
    ts = timestamps or {}
    for i, h in enumerate(hints):
        out += [(r.offset, ok, clock.now) for r, ok in clock.push(_rec(i, h, ts.get(i)))]
    out += [(r.offset, ok, clock.now) for r, ok in clock.finish()]
    assert [o for o, _, _ in out] == list(range(len(hints)))  # in order, every one
    return out, clock


def test_an_outlier_ahead_neither_moves_the_clock_nor_counts():
    far = T0 + TEN_YEARS_MS
    hints = [far, T0, T0 + 1000, far + 5, T0 + 2000, None, T0 + 3000, T0 + 4000, T0 + 5000,
             T0 + 6000, far]
    out, clock = _run(hints)
    assert [ok for _, ok, _ in out] == [False, True, True, False, True, False, True, True,
                                        True, True, False]
    assert clock.now == T0 + 6000 and clock.outliers == 3


def test_a_gap_moves_the_clock_once_later_messages_agree():
    gap = T0 + 3_600_000
    hints = [T0, T0 + 1000] + [gap + i * 1000 for i in range(EVIDENCE + 2)]
    out, clock = _run(hints)
    assert all(ok for _, ok, _ in out)
    assert clock.now == gap + (EVIDENCE + 1) * 1000


def test_a_sparse_recording_moves_the_clock_message_by_message():
    hints = [T0 + i * 10 * 60_000 for i in range(8)]  # ten minutes apart, nothing between
    out, clock = _run(hints)
    assert [ok for _, ok, _ in out] == [True] * 8
    assert clock.now == hints[-1]


def test_record_timestamps_are_the_producer_clock():
    hints = [T0, T0 + MAX_FUTURE_MS + 60_000]
    out, _ = _run(hints, {0: T0 + 2 * MAX_FUTURE_MS})
    assert [ok for _, ok, _ in out] == [True, True]  # within the allowance of the record time
