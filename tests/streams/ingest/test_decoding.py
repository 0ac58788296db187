"""decode_batch agrees with the per-message decoder on every kind of input."""

from __future__ import annotations

import time

import orjson

from schemas.decode import DeadLetter, decode
from schemas.events import MAX_FUTURE_MS, MAX_TS_MS, MIN_TS_MS
from streams.ingest.decoding import decode_batch

NOW = int(time.time() * 1000)


def _ev(**kw) -> bytes:
    return orjson.dumps({"type": "like", "event_id": "a", "room_id": "r", "ts": NOW, **kw})


CASES = [
    _ev(),
    None,
    b"",
    b"not json",
    b"[1]",
    _ev(type="no_such_type"),
    _ev(ts=NOW + 10**9),
    orjson.dumps({"event_id": "x"}),
    _ev(schema_version=2),
    _ev(count=0),
    b'{"a":1},{"b":2}',  # would be two elements if raw bytes were joined into one array
    b"x" * 70_000,
    _ev(event_id="b", type="comment", text="hi"),
    # ts: the batch validator checks a plain int itself; anything else takes the exact path
    _ev(ts=NOW + MAX_FUTURE_MS),  # at the future limit: accepted
    _ev(ts=NOW + MAX_FUTURE_MS + 1),  # just past it: future_ts
    _ev(ts=float(NOW)),  # a whole float: accepted as the int
    _ev(ts=NOW + 0.5),
    _ev(ts="2026-11-22T08:00:00+08:00"),  # ISO with a zone: accepted
    _ev(ts="2026-11-22T08:00:00"),  # no zone
    _ev(ts=True),
    _ev(ts=NOW // 1000),  # seconds
    _ev(ts=MIN_TS_MS),
    _ev(ts=MIN_TS_MS - 1),
    _ev(ts=MAX_TS_MS + 1),
    _ev(ts=str(NOW)),
    _ev(ts=None),
    orjson.dumps({"type": "like", "event_id": "c", "room_id": "r"}),  # no ts
]


def test_batch_decoding_matches_decode_message_by_message() -> None:
    out = decode_batch(CASES, NOW)
    assert len(out) == len(CASES)
    for value, got in zip(CASES, out, strict=True):
        want = decode(value, now_ms=NOW)
        assert type(got) is (DeadLetter if isinstance(want, DeadLetter) else dict)
        if isinstance(want, DeadLetter):
            assert got.reason == want.reason
        else:
            assert got == want.__dict__  # the event's fields, as its model holds them


def test_all_valid_batch_keeps_order() -> None:
    values = [_ev(event_id=f"e{i}") for i in range(100)]
    out = decode_batch(values, NOW)
    assert [e["event_id"] for e in out] == [f"e{i}" for i in range(100)]


def test_empty_batch() -> None:
    assert decode_batch([], NOW) == []


def test_one_future_event_leaves_the_rest_of_the_batch_valid() -> None:
    values = [_ev(event_id=f"e{i}", ts=NOW + (MAX_FUTURE_MS + 1 if i == 3 else -i))
              for i in range(10)]
    out = decode_batch(values, NOW)
    assert [i for i, e in enumerate(out) if isinstance(e, DeadLetter)] == [3]
    assert out[3].reason == "future_ts"
    assert [e["ts"] for i, e in enumerate(out) if i != 3] == [NOW - i for i in range(10) if i != 3]
