"""RawRecordConsumer: aiokafka's C records straight from getmany, for the KPI loop's consumer
only."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from streams.worker.records import RawRecordConsumer, internals_present

N = 1_000


def test_the_aiokafka_internals_it_relies_on_are_there():
    # If this fails, aiokafka changed the internals RawRecordConsumer hooks into: the KPI loop
    # silently falls back to ConsumerRecords (correct, but ~1 µs/event slower). Adapt
    # streams/worker/records.py, or keep aiokafka below the version that changed them.
    assert internals_present()


async def _consume(consumer: AIOKafkaConsumer, tps: list[TopicPartition], max_records: int):
    got: dict[int, list] = {tp.partition: [] for tp in tps}
    while sum(map(len, got.values())) < N:
        batch = await consumer.getmany(timeout_ms=2000, max_records=max_records)
        assert batch, "no records within 2 s"
        for tp, records in batch.items():
            assert len(records) <= max_records
            got[tp.partition].extend(records)
    return got


@pytest.mark.integration
@pytest.mark.asyncio(loop_scope="session")
async def test_getmany_hands_back_every_record_once_in_order_and_leaves_others_alone(
        stack, topic_settings):
    topic = topic_settings.name("views")
    producer = AIOKafkaProducer(**stack.kafka.client_kwargs(), compression_type="gzip",
                                linger_ms=5)
    await producer.start()
    try:
        for i in range(N):
            await producer.send(topic, f"v{i}".encode(), key=f"k{i % 7}".encode(),
                                partition=i % 2)
        await producer.flush()
    finally:
        await producer.stop()
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    raw = RawRecordConsumer(**stack.kafka.client_kwargs(), enable_auto_commit=False,
                            auto_offset_reset="earliest")
    plain = AIOKafkaConsumer(**stack.kafka.client_kwargs(), enable_auto_commit=False,
                             auto_offset_reset="earliest")
    await raw.start()
    await plain.start()
    try:
        raw.assign(tps)
        plain.assign(tps)
        # 37 records at a time: record batches are cut, so the held remainder is exercised.
        got = await _consume(raw, tps, 37)
        ref = await _consume(plain, tps, 10_000)
        for p in (0, 1):
            assert [r.offset for r in got[p]] == list(range(len(got[p])))
            assert [(r.offset, r.key, r.value) for r in got[p]] == \
                [(r.offset, r.key, r.value) for r in ref[p]]
            assert await raw.position(tps[p]) == len(got[p])
        assert not any(type(r) is ConsumerRecord for rs in got.values() for r in rs)
        assert all(type(r) is ConsumerRecord for rs in ref.values() for r in rs)
        # After a seek back, the same records come again.
        raw.seek(tps[0], 5)
        again = await raw.getmany(tps[0], timeout_ms=2000, max_records=3)
        assert [r.offset for r in again[tps[0]]] == [5, 6, 7]
    finally:
        await raw.stop()
        await plain.stop()
