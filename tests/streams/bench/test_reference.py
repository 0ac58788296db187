"""The raw reference loop against the real broker: every message from the first offset, once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import orjson
import pytest

from streams.bench import workload
from streams.bench.reference import read_all
from streams.settings import TopicSettings
from streams.stack import Stack

pytestmark = pytest.mark.integration


def test_reads_every_message_from_the_beginning(stack: Stack,
                                                topic_settings: TopicSettings) -> None:
    w = workload.build(rooms=3, steps=50, now_ms=int(time.time() * 1000), bad_every=7)
    asyncio.run(workload.produce(stack.kafka, topic_settings, w.messages))
    got = asyncio.run(read_all(stack.kafka, topic_settings.inputs, topic_settings.partitions,
                               expect=len(w.messages), timeout_s=60))
    assert got["events"] == len(w.messages)
    parsed = Counter()
    for _, _, value in w.messages:
        try:
            ev = orjson.loads(value)
        except orjson.JSONDecodeError:
            continue
        parsed[(ev["room_id"], ev["type"])] += 1
    assert got["counted"] == sum(parsed.values()) and got["rooms"] == 3
    assert got["seconds"] >= 0 and got["cpu_seconds"] >= 0


def test_stops_at_the_highwater_when_fewer_messages_exist(
        stack: Stack, topic_settings: TopicSettings) -> None:
    w = workload.build(rooms=2, steps=20, now_ms=int(time.time() * 1000))
    asyncio.run(workload.produce(stack.kafka, topic_settings, w.messages))
    t0 = time.monotonic()
    got = asyncio.run(read_all(stack.kafka, topic_settings.inputs, topic_settings.partitions,
                               expect=len(w.messages) + 1000, timeout_s=60))
    assert got["events"] == len(w.messages)
    assert time.monotonic() - t0 < 30  # ended at the log's end, not at the timeout
