"""Worker test helpers: fresh KPI key prefixes, an async Redis client, engine runners."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from streams.kpi.config import KpiSettings
from streams.kpi.store_redis import RedisKpiStore
from streams.stack import Stack
from streams.worker.app import redis_client
from streams.worker.config import WorkerSettings
from streams.worker.deadletter import decode_dead_letter
from streams.worker.engine import KpiEngine
from streams.worker.metrics import WorkerMetrics


@pytest.fixture
def kpi_settings() -> KpiSettings:
    return KpiSettings(key_prefix=f"k{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def store(stack: Stack, kpi_settings: KpiSettings):
    client = redis_client(stack.redis)
    try:
        yield RedisKpiStore(client, kpi_settings)
    finally:
        await client.aclose()


def make_engine(stack: Stack, topics, kpi: KpiSettings, store, *, group: str | None = None,
                **worker_kw) -> KpiEngine:
    worker = WorkerSettings(group_id=group or f"g{uuid.uuid4().hex[:8]}", **worker_kw)
    inputs = list(topics.inputs)
    return KpiEngine(stack.kafka, inputs, topics.deadletter, worker, kpi, store,
                     WorkerMetrics(CollectorRegistry()))


def consumed(engine: KpiEngine) -> float:
    reg = engine.metrics.registry
    return sum(s.value for m in reg.collect() if m.name == "roompulse_worker_consumed"
               for s in m.samples if s.name.endswith("_total"))


def partition_totals(engine: KpiEngine) -> dict[str, dict[tuple[str, str], float]]:
    out: dict[str, dict] = {}
    for m in engine.metrics.registry.collect():
        for s in m.samples:
            if s.name.endswith("_total") and "partition" in s.labels:
                key = (s.labels["topic"], s.labels["partition"])
                out.setdefault(s.name, {})[key] = s.value
    return out


@contextlib.asynccontextmanager
async def running(engine: KpiEngine):
    await engine.start()
    task = asyncio.create_task(engine.run())
    try:
        yield engine
    finally:
        await engine.stop()
        await asyncio.wait_for(task, 10)


async def wait_for(pred, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = pred()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def read_dead_letters(stack: Stack, topic: str, n: int, timeout: float = 10.0) -> list[dict]:
    consumer = AIOKafkaConsumer(topic, **stack.kafka.client_kwargs(),
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[dict] = []
    try:
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                out.extend(decode_dead_letter(r.value) for r in records)
    finally:
        await consumer.stop()
    return out
