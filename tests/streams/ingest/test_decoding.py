"""decode_batch agrees with the per-message decoder on every kind of input."""

from __future__ import annotations

import time

import orjson

from schemas.decode import DeadLetter, decode
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
