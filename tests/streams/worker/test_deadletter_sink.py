"""DeadLetterSink against the real broker: huge originals arrive cut to the limit; a letter the
broker refuses for good goes minimal or is counted and dropped - never an outage."""

from __future__ import annotations

import hashlib
import logging
import os

import pytest
from prometheus_client import CollectorRegistry

from schemas.decode import DeadLetter, DeadLetterReason
from streams.worker.deadletter import DeadLetterSink, Rejected
from tests.streams.worker.conftest import read_dead_letters

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
WHY = DeadLetter(DeadLetterReason.too_large, "message is too large")


def failures(reg: CollectorRegistry, outcome: str, kind: str) -> float:
    return reg.get_sample_value("roompulse_worker_deadletter_send_failures_total",
                                {"outcome": outcome, "kind": kind}) or 0.0


async def test_800_kb_and_5_mb_originals_arrive_truncated_within_the_limit(stack, topic_settings):
    big, huge, key = os.urandom(800_000), os.urandom(5_000_000), os.urandom(1_000_000)
    rejected = [Rejected(topic_settings.name("orders"), 0, 1, b"room-1", big, WHY),
                Rejected(topic_settings.name("views"), 3, 2, key, huge, WHY),
                Rejected(topic_settings.name("views"), 1, 3, b"room-2", b"small", WHY)]
    reg = CollectorRegistry()
    sink = DeadLetterSink(stack.kafka, topic_settings.deadletter, registry=reg)
    try:
        await sink.send(rejected)  # must not raise (on main it stalled the worker for good)
    finally:
        await sink.stop()
    letters = {d["source_offset"]: d for d in
               await read_dead_letters(stack, topic_settings.deadletter, 3)}
    assert sorted(letters) == [1, 2, 3]
    for off, raw in ((1, big), (2, huge)):
        d = letters[off]
        assert d["truncated"] is True and d["original"] is None
        assert (d["original_len"], d["original_sha256"]) == (len(raw),
                                                             hashlib.sha256(raw).hexdigest())
        assert raw.startswith(d["original_prefix"]) and len(d["original_prefix"]) > 100_000
    assert letters[2]["original_key_len"] == 1_000_000
    assert letters[3]["original"] == b"small" and letters[3]["truncated"] is False
    assert failures(reg, "minimal", "too_large") == 0


async def test_a_letter_the_producer_refuses_is_sent_minimal(stack, topic_settings):
    # The producer's own limit below the letter's: aiokafka raises MessageSizeTooLargeError,
    # which no retry can fix. Broker limits answer with the same error class.
    value = os.urandom(300_000)
    reg = CollectorRegistry()
    sink = DeadLetterSink(stack.kafka, topic_settings.deadletter, registry=reg,
                          max_bytes=256 * 1024, max_request_size=64 * 1024)
    try:
        await sink.send([Rejected(topic_settings.name("views"), 0, 7, b"room", value, WHY),
                         Rejected(topic_settings.name("views"), 0, 8, b"room", b"ok", WHY)])
    finally:
        await sink.stop()
    letters = {d["source_offset"]: d for d in
               await read_dead_letters(stack, topic_settings.deadletter, 2)}
    minimal = letters[7]
    assert minimal["minimal"] is True and minimal["send_error"].startswith(
        "MessageSizeTooLargeError")
    assert minimal["original_sha256"] == hashlib.sha256(value).hexdigest()
    assert letters[8]["original"] == b"ok"
    assert failures(reg, "minimal", "too_large") == 1


async def test_refused_even_minimal_is_counted_logged_once_and_dropped(stack, topic_settings,
                                                                       caplog):
    caplog.set_level(logging.WARNING, logger="streams.worker.deadletter")
    reg = CollectorRegistry()
    sink = DeadLetterSink(stack.kafka, topic_settings.deadletter, registry=reg,
                          max_request_size=100)  # nothing fits
    rejected = [Rejected(topic_settings.name("views"), 0, i, b"room", b"x" * 500, WHY)
                for i in range(5)]
    try:
        await sink.send(rejected)  # returns: dropping five letters is not an outage
        await sink.send(rejected)
    finally:
        await sink.stop()
    assert failures(reg, "dropped", "too_large") == 10
    lines = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "/0@0 dropped" in lines[0] and "x" * 50 not in lines[0]
