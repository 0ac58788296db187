"""Dead-letter JSON keeps the original bytes and where they came from, and always fits."""

from __future__ import annotations

import hashlib
import os

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.decode import DeadLetter, DeadLetterReason
from streams.ingest.prepare import Rejected
from streams.worker.deadletter import (
    DEFAULT_MAX_BYTES,
    KEY_MAX_BYTES,
    decode_dead_letter,
    encode_dead_letter,
    encode_minimal,
    record_key,
)

WHY = DeadLetter(DeadLetterReason.too_large, "message is too large")


def _size(r: Rejected, limit: int) -> int:
    return len(encode_dead_letter(r, 1, limit)) + len(record_key(r) or b"")


def test_dead_letter_round_trip_keeps_original_bytes_and_position() -> None:
    raw = b"\xff\x00not json"
    r = Rejected("p.views", 3, 42, b"room-1", raw, DeadLetter(DeadLetterReason.not_json, "bad"))
    d = decode_dead_letter(encode_dead_letter(r, now_ms=123))
    assert d["original"] == raw and d["original_prefix"] == raw
    assert d["original_key"] == b"room-1" and d["truncated"] is False
    assert (d["reason"], d["detail"], d["ts"]) == ("not_json", "bad", 123)
    assert (d["source_topic"], d["source_partition"], d["source_offset"]) == ("p.views", 3, 42)


def test_tombstone_has_no_original() -> None:
    r = Rejected("p.views", 0, 1, None, None, DeadLetter(DeadLetterReason.not_json, "tombstone"))
    d = decode_dead_letter(encode_dead_letter(r))
    assert d["original"] is None and d["original_key_b64"] is None and not d["truncated"]


def test_800_kb_value_is_cut_to_a_prefix_with_length_and_digest() -> None:
    value = os.urandom(800_000)
    r = Rejected("p.orders", 2, 7, b"room-9", value, WHY)
    data = encode_dead_letter(r, 5)
    assert len(data) + len(b"room-9") <= DEFAULT_MAX_BYTES
    assert len(data) + len(b"room-9") > DEFAULT_MAX_BYTES - 8  # the budget is used, not wasted
    d = decode_dead_letter(data)
    assert d["truncated"] is True and d["original"] is None
    assert d["original_len"] == 800_000
    assert d["original_sha256"] == hashlib.sha256(value).hexdigest()
    assert value.startswith(d["original_prefix"]) and len(d["original_prefix"]) > 190_000
    assert d["original_key"] == b"room-9"  # a small key stays whole
    assert (d["source_topic"], d["source_partition"], d["source_offset"]) == ("p.orders", 2, 7)


def test_5_mb_value_and_1_mb_key_fit_and_the_record_key_becomes_a_digest() -> None:
    value, key = os.urandom(5_000_000), os.urandom(1_000_000)
    r = Rejected("p.views", 0, 99, key, value, WHY)
    assert record_key(r) == b"sha256:" + hashlib.sha256(key).hexdigest().encode()
    assert _size(r, DEFAULT_MAX_BYTES) <= DEFAULT_MAX_BYTES
    d = decode_dead_letter(encode_dead_letter(r, 1))
    assert (d["original_len"], d["original_key_len"]) == (5_000_000, 1_000_000)
    assert d["original_key_sha256"] == hashlib.sha256(key).hexdigest()
    assert key.startswith(d["original_key_prefix"]) and d["original_key"] is None
    assert value.startswith(d["original_prefix"]) and len(d["original_prefix"]) > 100_000


def test_a_huge_key_alone_truncates_the_key_and_keeps_the_small_value_whole() -> None:
    key = b"k" * 1_000_000
    d = decode_dead_letter(encode_dead_letter(Rejected("p.views", 0, 1, key, b"{}", WHY), 1))
    assert d["truncated"] is True and d["original"] == b"{}"  # the prefix is all of it
    assert d["original_key"] is None and key.startswith(d["original_key_prefix"])


def test_hostile_detail_cannot_push_a_letter_over_the_limit() -> None:
    # Control characters are escaped six bytes each; lone surrogates must not break encoding.
    detail = "\x01" * 10_000 + "\ud800"
    r = Rejected("p." + "t" * 240, 0, 1, b"k" * KEY_MAX_BYTES, os.urandom(50_000),
                 DeadLetter(DeadLetterReason.invalid, detail))
    for limit in (8 * 1024, 9_000, 20_000):
        assert _size(r, limit) <= limit
    assert len(decode_dead_letter(encode_dead_letter(r, 1, 8 * 1024))["detail"]) == 500


@settings(max_examples=150, deadline=None)
@given(value_len=st.one_of(st.none(), st.integers(0, 300_000)),
       key_len=st.one_of(st.none(), st.integers(0, 40_000)),
       limit=st.integers(8 * 1024, 300_000))
def test_every_letter_fits_and_decodes_consistently(value_len, key_len, limit) -> None:
    value = None if value_len is None else os.urandom(value_len)
    key = None if key_len is None else os.urandom(key_len)
    if value is None and key is None:
        key = b""
    r = Rejected("p.views", 1, 2, key, value, WHY)
    assert _size(r, limit) <= limit
    d = decode_dead_letter(encode_dead_letter(r, 1, limit))
    for name, raw in (("original", value), ("original_key", key)):
        if raw is None:
            assert d[name] is None and d[f"{name}_prefix"] is None
        else:
            assert raw.startswith(d[f"{name}_prefix"])
            assert d[name] in (raw, None)  # whole, or absent when cut: never a wrong "whole"
            if d["truncated"]:
                assert d[f"{name}_len"] == len(raw)
                assert d[f"{name}_sha256"] == hashlib.sha256(raw).hexdigest()
            else:
                assert d[name] == raw


def test_minimal_letter_names_the_error_and_carries_no_payload() -> None:
    value = os.urandom(2_000_000)
    r = Rejected("p.views", 0, 5, b"room", value, WHY)
    data = encode_minimal(r, 1, RuntimeError("refused"))
    assert len(data) < 2_000
    d = decode_dead_letter(data)
    assert d["minimal"] is True and d["truncated"] is True and d["original_prefix"] is None
    assert d["send_error"] == "RuntimeError: refused"
    assert d["original_sha256"] == hashlib.sha256(value).hexdigest()
    assert orjson.loads(data)["source_offset"] == 5
