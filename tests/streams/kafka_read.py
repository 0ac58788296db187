"""Test helper: read every message of some topics (no consumer group, from the earliest)."""

from __future__ import annotations

import asyncio
import time

from streams.settings import KafkaSettings
from streams.topics import read_from_earliest


async def read_all(kafka: KafkaSettings, topics: list[str], expected: int,
                   timeout: float = 20.0) -> list:
    """Messages of `topics` until `expected` arrived (or the timeout); returns ConsumerRecords."""
    out: list = []
    async with read_from_earliest(kafka, topics, missing_ok=True) as consumer:
        deadline = time.monotonic() + timeout
        while len(out) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=300, max_records=10_000)
            for msgs in batches.values():
                out.extend(msgs)
        await asyncio.sleep(0)
    return out
