"""Dead-letter JSON keeps the original bytes and where they came from."""

from __future__ import annotations

from schemas.decode import DeadLetter, DeadLetterReason
from streams.worker.deadletter import Rejected, decode_dead_letter, encode_dead_letter


def test_dead_letter_round_trip_keeps_original_bytes_and_position() -> None:
    raw = b"\xff\x00not json"
    r = Rejected("p.views", 3, 42, b"room-1", raw, DeadLetter(DeadLetterReason.not_json, "bad"))
    d = decode_dead_letter(encode_dead_letter(r, now_ms=123))
    assert d["original"] == raw
    assert (d["reason"], d["detail"], d["ts"]) == ("not_json", "bad", 123)
    assert (d["source_topic"], d["source_partition"], d["source_offset"]) == ("p.views", 3, 42)


def test_tombstone_has_no_original() -> None:
    r = Rejected("p.views", 0, 1, None, None, DeadLetter(DeadLetterReason.not_json, "tombstone"))
    d = decode_dead_letter(encode_dead_letter(r))
    assert d["original"] is None and d["original_key_b64"] is None
