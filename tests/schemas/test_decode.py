"""The decoder: every class of bad input maps to its reason, and no input makes it raise."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.decode import DeadLetter, DeadLetterReason, decode, encode
from schemas.events import EVENT_TYPES, MAX_MESSAGE_BYTES, BaseEvent
from schemas.examples import EXAMPLES, NOW_MS


def dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


@pytest.mark.parametrize("etype", sorted(EVENT_TYPES))
def test_round_trip_every_type(etype: str) -> None:
    event = decode(dumps(EXAMPLES[etype]), now_ms=NOW_MS)
    assert isinstance(event, BaseEvent), event
    again = decode(encode(event), now_ms=NOW_MS)
    assert again == event


@pytest.mark.parametrize(
    "data, reason",
    [
        (None, DeadLetterReason.not_json),
        (b"", DeadLetterReason.not_json),
        (b"{not json", DeadLetterReason.not_json),
        (b"\xff\xfe\x00", DeadLetterReason.not_json),
        (b"[1, 2]", DeadLetterReason.not_object),
        (b'"order"', DeadLetterReason.not_object),
        (b'{"room_id": "r"}', DeadLetterReason.missing_type),
        (b'{"type": "teleport"}', DeadLetterReason.unknown_type),
        (b'{"type": 7}', DeadLetterReason.unknown_type),
        (b"x" * (MAX_MESSAGE_BYTES + 1), DeadLetterReason.too_large),
    ],
)
def test_structural_failures(data, reason: DeadLetterReason) -> None:
    result = decode(data, now_ms=NOW_MS)
    assert isinstance(result, DeadLetter)
    assert result.reason is reason
    assert result.detail


def test_invalid_field_detail_names_the_field() -> None:
    result = decode(dumps({**EXAMPLES["order"], "amount": -3}), now_ms=NOW_MS)
    assert result == DeadLetter(DeadLetterReason.invalid,
                                "amount: Input should be greater than or equal to 0")


def test_future_timestamp_has_its_own_reason() -> None:
    result = decode(dumps({**EXAMPLES["like"], "ts": NOW_MS + 3_600_000}), now_ms=NOW_MS)
    assert isinstance(result, DeadLetter) and result.reason is DeadLetterReason.future_ts


def test_unsupported_schema_version() -> None:
    result = decode(dumps({**EXAMPLES["like"], "schema_version": 9}), now_ms=NOW_MS)
    assert isinstance(result, DeadLetter)
    assert result.reason is DeadLetterReason.unsupported_version


def test_several_errors_are_summarised() -> None:
    bad = {"type": "order", "event_id": "e", "room_id": "r", "ts": NOW_MS}
    result = decode(dumps(bad), now_ms=NOW_MS)
    assert isinstance(result, DeadLetter) and result.reason is DeadLetterReason.invalid
    assert "order_id: Field required" in result.detail
    assert "product_id: Field required" in result.detail


def test_message_exactly_at_the_limit_is_not_too_large() -> None:
    obj = {**EXAMPLES["like"], "pad": ""}
    base = len(dumps(obj))
    obj["pad"] = "a" * (MAX_MESSAGE_BYTES - base)
    data = dumps(obj)
    assert len(data) == MAX_MESSAGE_BYTES
    assert isinstance(decode(data, now_ms=NOW_MS), BaseEvent)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda kids: (st.lists(kids, max_size=4)
                  | st.dictionaries(st.text(max_size=8), kids, max_size=4)),
    max_leaves=12,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(["", "paid", "douyin", "recommend", "traffic", "live",
                     "2026-11-22T00:00:00Z"]),
    st.integers(min_value=-(2**70), max_value=2**70),
)


@st.composite
def near_valid_events(draw) -> bytes:
    """Take a valid example and corrupt, drop or add fields: reaches deep validation paths."""
    etype = draw(st.sampled_from(sorted(EVENT_TYPES)))
    obj = dict(EXAMPLES[etype])
    for key in draw(st.lists(st.sampled_from(sorted(obj) + ["extra", "type"]), max_size=3)):
        action = draw(st.sampled_from(["drop", "replace"]))
        if action == "drop":
            obj.pop(key, None)
        else:
            obj[key] = draw(field_values)
    try:
        return dumps(obj)
    except ValueError:  # NaN/inf are not JSON; send the repr bytes instead
        return repr(obj).encode()


def _check(result) -> None:
    assert isinstance(result, (BaseEvent, DeadLetter))
    if isinstance(result, DeadLetter):
        assert isinstance(result.reason, DeadLetterReason) and result.detail


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=512))
def test_decode_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    _check(decode(data, now_ms=NOW_MS))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(json_values)
def test_decode_never_raises_on_arbitrary_json(value) -> None:
    try:
        data = json.dumps(value).encode()
    except ValueError:
        return
    _check(decode(data, now_ms=NOW_MS))


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(near_valid_events())
def test_decode_never_raises_on_corrupted_events(data: bytes) -> None:
    _check(decode(data, now_ms=NOW_MS))


def test_deeply_nested_json_is_a_dead_letter_not_a_crash() -> None:
    data = b'{"type":"like","x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    _check(decode(data, now_ms=NOW_MS))
