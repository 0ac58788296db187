"""EventProducer against the embedded broker: everything arrives, a key keeps one partition."""

from __future__ import annotations

from collections import defaultdict

import pytest
from aiokafka.partitioner import DefaultPartitioner

from schemas.decode import decode
from schemas.events import Like
from streams.produce import EventProducer
from tests.streams.kafka_read import read_all

pytestmark = pytest.mark.integration


async def test_send_raw_and_send_event_arrive_keyed_by_room(stack, topic_settings):
    topic = topic_settings.name("interactions")
    async with EventProducer(stack.kafka, topic_settings) as producer:
        for i in range(3000):
            await producer.send_raw(topic, f"room-{i % 3}", b'{"n":%d}' % i)
        await producer.send_event(Like(event_id="e1", room_id="room-9", ts=1_767_225_600_000))
        await producer.flush()
        assert producer.sent == 3001
    msgs = await read_all(stack.kafka, [topic], 3001)
    assert len(msgs) == 3001
    parts = defaultdict(set)
    for m in msgs:
        parts[m.key].add(m.partition)
    expected = DefaultPartitioner()
    for key, seen in parts.items():
        assert seen == {expected(key, [0, 1, 2, 3], [0, 1, 2, 3])}
    liked = [m for m in msgs if m.key == b"room-9"]
    assert decode(liked[0].value).event_id == "e1"
    # Per key, order of sending is kept.
    values = [int(m.value[5:-1]) for m in msgs if m.key == b"room-0"]
    assert values == sorted(values)
