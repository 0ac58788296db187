"""The fast decoder accepts only what the contract accepts, as the same fields; everything else
reaches the exact path and gets the per-message verdict."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.decode import DeadLetter, decode
from schemas.events import EVENT_TYPES
from schemas.examples import EXAMPLES, NOW_MS
from streams.ingest.decoding import decode_batch
from streams.ingest.fastdecode import (
    fast_structs,
    from_fields,
    id_failures,
    to_fields,
    unclear,
)


def _same_as_decode(values: list[bytes | None]) -> list:
    """decode_batch's result, asserted equal to the per-message decoder's, message by message."""
    out = decode_batch(values, NOW_MS)
    assert len(out) == len(values)
    for value, got in zip(values, out, strict=True):
        want = decode(value, now_ms=NOW_MS)
        if isinstance(want, DeadLetter):
            assert isinstance(got, DeadLetter), (value, got)
            assert got.reason == want.reason, value
        else:
            assert type(got) is dict, (value, got)
            assert got == want.__dict__, value
    return out


def test_every_example_takes_the_fast_path_with_the_models_fields() -> None:
    values = [orjson.dumps(EXAMPLES[t]) for t in sorted(EVENT_TYPES)]
    structs, failed = fast_structs(values)
    assert failed == []
    assert unclear(values) == []
    fields = to_fields(structs)
    for value, got in zip(values, fields, strict=True):
        want = decode(value, now_ms=NOW_MS)
        assert not isinstance(want, DeadLetter)
        assert got == want.__dict__
        assert got.keys() == want.__dict__.keys()
    _same_as_decode(values)


def _ex(etype: str = "like", **change) -> dict:
    return {**EXAMPLES[etype], **change}


GOOD = orjson.dumps(_ex())
# Messages the fast path must leave to the exact path, or accept exactly as it would.
CASES: list[bytes] = [
    # beyond what the fast path parses: orjson rejects these inside an unknown field
    b'{"type":"like","event_id":"a","room_id":"r","ts":%d,"x":1e400}' % NOW_MS,
    b'{"type":"like","event_id":"a","room_id":"r","ts":%d,"x":"\xff"}' % NOW_MS,
    b'{"type":"like","event_id":"a","room_id":"r","ts":%d,"x":"\xed\xa0\x80"}' % NOW_MS,
    b'{"type":"like","event_id":"a","room_id":"r","ts":%d,"x":%s}' % (
        NOW_MS, b"[" * 1100 + b"]" * 1100),
    b'{"type":"like","event_id":"a","room_id":"r","ts":%d,"x":1}' % NOW_MS,  # valid, ignored
    b'{"type":"like","event_id":"a","room_id":"r","ts":%d,"x":99999999999999999999999}' % NOW_MS,
    # duplicate keys: the last one counts
    b'{"type":"like","event_id":"a","room_id":"r","ts":%d,"event_id":"b"}' % NOW_MS,
    b'{"type":"like","event_id":"a{","room_id":"r","ts":%d,"event_id":"b"}' % NOW_MS,
    b'{"type":"like","event_id":"a","room_id":"r","ts":%d,"count":0,"count":2}' % NOW_MS,
    b'{"type":"like","event_id":"a","room_id":"r","ts":%d,"type":"share"}' % NOW_MS,
    # ids: escapes, raw marks, spaces
    b'{"type":"like","event_id":"a\\u0000","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"a\\n","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"a\\u007f","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"a\x7f","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"a\\u007b","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"a}","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":" a","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"a ","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"a b","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"\\u0061","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"a\\u2028b","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"\xe7\x9b\xb4\xe6\x92\xad","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"","room_id":"r","ts":%d}' % NOW_MS,
    b'{"type":"like","event_id":"%s","room_id":"r","ts":%d}' % (b"x" * 129, NOW_MS),
    b'{"type":"like","event_id":"a","room_id":"r","ts":%d,"user_id":null}' % NOW_MS,
    # strings elsewhere may hold what ids may not
    orjson.dumps(_ex("comment", text="{ hi } \"quoted\"\n ")),
    orjson.dumps(_ex("comment", text="x" * 513)),  # over the fast bound, within the limit
    orjson.dumps(_ex("comment", text="好" * 683)),  # over the byte limit
    orjson.dumps(_ex("enter", region=" Hong Kong ")),
    # formatting: spaces around tokens, escaped non-ASCII
    json.dumps(_ex("enter"), indent=2).encode(),
    json.dumps(_ex("comment", user_id="用户 1")).encode(),
    b' \n' + GOOD + b'\n ',
    # the contract's lax coercions take the exact path
    orjson.dumps(_ex(ts=float(NOW_MS))),
    orjson.dumps(_ex(ts="2026-11-22T08:00:00+08:00")),
    orjson.dumps(_ex(ts=True)),
    orjson.dumps(_ex(count=2.0)),
    orjson.dumps(_ex(count="2")),
    orjson.dumps(_ex(count=True)),
    orjson.dumps(_ex(schema_version=True)),
    orjson.dumps(_ex(schema_version=1.0)),
    orjson.dumps(_ex(platform="DOUYIN")),
    orjson.dumps(_ex(ts=NOW_MS + 300_001)),
    orjson.dumps(_ex(ts=NOW_MS + 300_000)),
    orjson.dumps(_ex("leave", watch_ms=-0)),
    orjson.dumps(_ex("order", amount=0)),
    orjson.dumps(_ex("order", amount=-0.0)),
    orjson.dumps(_ex("order", currency="CNY\n")),
    orjson.dumps(_ex("order", currency="cny")),
    b'{"type":"order","event_id":"o","room_id":"r","ts":%d,"order_id":"1","product_id":"p",'
    b'"amount":1e400}' % NOW_MS,
    orjson.dumps(_ex("order", amount=10**13)),
    orjson.dumps(_ex("product_pinned", role=None)),
    orjson.dumps(_ex("product_pinned", role="nope")),
    orjson.dumps({k: v for k, v in _ex().items() if k != "type"}),
    orjson.dumps(_ex(type="no_such")),
    b"[]", b"null", b"", b"{", b'{"type":"like"}',
    None,
    b" " * 70_000,
]


@pytest.mark.parametrize("value", CASES, ids=range(len(CASES)))
def test_each_case_gets_the_per_message_verdict_between_good_neighbours(value) -> None:
    out = _same_as_decode([GOOD, value, GOOD])
    assert all(type(e) is dict for e in (out[0], out[2]))


def test_all_cases_in_one_batch() -> None:
    _same_as_decode(CASES + [GOOD] * 3 + CASES[::-1])


def test_id_failures_names_exactly_the_bad_ids() -> None:
    events = [_ex(), _ex(event_id="a{"), _ex(user_id=" u"), _ex("cart_add", product_id="p\n"),
              _ex("enter", user_id=None), _ex(room_id="直播间 2")]
    assert id_failures([from_fields(e) for e in events]) == [1, 2, 3]


_TRICKY = st.one_of(
    st.sampled_from(["", " ", "a", "a b", " a", "a ", "{", "}", "a}", "\x00", "\n", "\x7f",
                     "\u2028", "😀", "直播间", "x" * 128, "x" * 129, "CNY", "douyin", "paid"]),
    st.text(max_size=12), st.integers(), st.floats(), st.booleans(), st.none(),
    st.sampled_from([NOW_MS, NOW_MS + 300_001, 10**12 - 1, 0, -1, 10**20, 1.5, 2.0]),
)


@st.composite
def messages(draw) -> bytes:
    etype = draw(st.sampled_from(sorted(EVENT_TYPES)))
    event = dict(EXAMPLES[etype])
    for name in draw(st.lists(st.sampled_from(sorted(event) + ["count", "x", "source", "role"]),
                              max_size=3)):
        if draw(st.booleans()):
            event[name] = draw(_TRICKY)
        else:
            event.pop(name, None)
    if draw(st.booleans()):
        try:
            return orjson.dumps(event)
        except TypeError:  # an int past 64 bits: json writes it
            pass
    return json.dumps(event, ensure_ascii=draw(st.booleans()),
                      indent=draw(st.sampled_from([None, 1]))).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(messages(), min_size=1, max_size=8))
def test_random_messages_get_the_per_message_verdict(values) -> None:
    _same_as_decode(values)


def test_a_fast_path_fault_costs_speed_not_the_batch(monkeypatch) -> None:
    import streams.ingest.decoding as decoding

    def broken(values):
        raise RuntimeError("injected")

    monkeypatch.setattr(decoding, "fast_structs", broken)
    _same_as_decode([GOOD, *CASES[:10], GOOD])
