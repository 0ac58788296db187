"""The Kafka broker becomes unreachable mid-stream (a proxy cuts it off), then returns: no loss."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiokafka.errors import KafkaError

from schemas.decode import DeadLetter, DeadLetterReason
from streams.bench import workload
from streams.bench.run import stop
from streams.settings import TopicSettings
from streams.stack import Stack, free_port, tansu_command
from streams.topics import create_topics
from streams.worker.deadletter import DeadLetterSink, Rejected
from tests.streams.worker.conftest import (
    consumed,
    make_engine,
    partition_totals,
    read_dead_letters,
    running,
    wait_for,
)
from tests.streams.worker.tcpproxy import TcpProxy
from tests.streams.worker.test_engine import assert_exact

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
OUTAGE_S = 4.0  # longer than the watch's 3 s and the group session (2 s): a real outage


class _Tansu:
    """A Tansu of our own, advertising `advertised_port` (memory-only: never restarted)."""

    def __init__(self, port: int, advertised_port: int) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="broker-outage-")
        self.proc = subprocess.Popen(
            tansu_command(port, advertised_port),
            stdout=(Path(self.tmp.name) / "tansu.log").open("wb"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})

    def stop(self) -> None:
        stop(self.proc)
        self.tmp.cleanup()


@pytest.fixture
async def proxied(stack):
    """Our own broker behind a TcpProxy (the session broker's other clients must not be cut).
    Metadata advertises the proxy's port, so every client connection goes through the proxy."""
    broker_port = free_port()
    proxy = TcpProxy(broker_port)
    await proxy.start()
    tansu = _Tansu(broker_port, proxy.port)
    try:
        ours = Stack(kafka=stack.kafka.model_copy(
            update={"bootstrap": f"127.0.0.1:{proxy.port}"}), redis=stack.redis)
        topics = TopicSettings(prefix=f"t{uuid.uuid4().hex[:10]}", partitions=4)
        deadline = time.monotonic() + 15
        while True:
            try:
                await create_topics(ours.kafka, topics)
                break
            except (KafkaError, OSError):
                if tansu.proc.poll() is not None or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        yield ours, topics, proxy
    finally:
        await proxy.stop()
        tansu.stop()


async def test_broker_outage_reconnects_and_resumes_without_loss(proxied, kpi_settings, store,
                                                                 caplog):
    caplog.set_level(logging.WARNING, logger="streams.worker")
    caplog.set_level(logging.WARNING, logger="aiokafka")
    ours, topics, proxy = proxied
    now = int(time.time() * 1000)
    first = workload.build(2, 40, now - 3_000, tag="a", dup_every=6, bad_every=10)
    second = workload.build(2, 40, now, tag="b", dup_every=7, bad_every=9)
    total = len(first.messages) + len(second.messages)
    engine = make_engine(ours, topics, kpi_settings, store, batch_max_records=50,
                         retry_cap_s=0.5)
    async with running(engine):
        await workload.produce(ours.kafka, topics, first.messages)
        await wait_for(lambda: consumed(engine) >= len(first.messages), what="first half")
        cut_at = time.monotonic()
        await proxy.cut()
        await wait_for(lambda: engine.broker.down, OUTAGE_S + 3, "outage noticed")
        assert engine.metrics.kafka_up._value.get() == 0
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut_at)))
        assert consumed(engine) == len(first.messages)
        await proxy.restore()
        await workload.produce(ours.kafka, topics, second.messages)
        await wait_for(lambda: consumed(engine) >= total, 20, "second half")
        await wait_for(lambda: not engine.broker.down, 5, "broker back")
        assert engine.metrics.kafka_up._value.get() == 1
    await assert_exact(store, first)
    await assert_exact(store, second)
    assert sum((await store.load_offsets(engine.group)).values()) == total

    totals = partition_totals(engine)
    cons = totals["roompulse_worker_consumed_total"]
    processed = totals["roompulse_worker_processed_total"]
    dead = totals.get("roompulse_worker_dead_lettered_total", {})
    assert sum(cons.values()) == total
    for tp, n in cons.items():
        assert processed.get(tp, 0) + dead.get(tp, 0) == n, tp
    bad = first.bad + second.bad
    letters = await read_dead_letters(ours, topics.deadletter, sum(bad.values()))
    # At-least-once: a dead letter may arrive twice, but every position exactly once here.
    by_position = {(d["source_topic"], d["source_partition"], d["source_offset"]): d["reason"]
                   for d in letters}
    assert Counter(by_position.values()) == bad

    ours_lines = [r.getMessage() for r in caplog.records if r.name.startswith("streams.worker")]
    assert sum(m.startswith("Kafka broker unavailable") for m in ours_lines) == 1, ours_lines
    assert sum(m == "Kafka broker is back; resuming" for m in ours_lines) == 1, ours_lines
    # aiokafka logs every failed connect/fetch/heartbeat (~300 lines in 4 s unthrottled).
    noisy = [r.getMessage() for r in caplog.records if r.name.startswith("aiokafka")]
    assert len(noisy) <= 20, Counter(m[:60] for m in noisy)


async def test_dead_letters_sent_during_an_outage_wait_and_arrive(proxied):
    ours, topics, proxy = proxied
    why = DeadLetter(DeadLetterReason.not_json, "test")
    rejected = [Rejected(topics.name("views"), 0, i, b"room", b"bad %d" % i, why)
                for i in range(3)]
    sink = DeadLetterSink(ours.kafka, topics.deadletter)
    await sink.start()
    try:
        await sink.send(rejected[:1])
        await proxy.cut()
        sending = asyncio.create_task(sink.send(rejected[1:]))
        await asyncio.sleep(2)
        assert not sending.done()  # still retrying: neither dropped nor failed
        await proxy.restore()
        await asyncio.wait_for(sending, 20)
    finally:
        await sink.stop()
    letters = await read_dead_letters(ours, topics.deadletter, 3)
    assert sorted(d["original"] for d in letters) == [b"bad 0", b"bad 1", b"bad 2"]
