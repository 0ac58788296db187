"""Test helper: read every message of some topics (no consumer group, from the earliest)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.settings import KafkaSettings


async def read_all(kafka: KafkaSettings, topics: list[str], expected: int,
                   timeout: float = 20.0) -> list:
    """Messages of `topics` until `expected` arrived (or the timeout); returns ConsumerRecords."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    out: list = []
    try:
        await consumer.topics()
        tps = [TopicPartition(t, p) for t in topics
               for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while len(out) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=300, max_records=10_000)
            for msgs in batches.values():
                out.extend(msgs)
        await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return out
