"""Chaos: a hostile stream, 10 worker SIGKILLs, Redis restarted WITHOUT persistence and a broker
cut, all while the stream flows -> exact KPIs, every message accounted, no stall after the end.

Real parts only: our own Tansu behind a TCP proxy (so the cut hits this test alone), our own
valkey-server with persistence off (restarting it loses everything), `roompulse worker`
subprocesses. Takes 1-3 minutes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
import uuid
from collections import Counter

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import SecretStr

from streams.kpi.config import KpiSettings
from streams.kpi.store_redis import RedisKpiStore
from streams.settings import RedisSettings, TopicSettings
from streams.stack import Stack, free_port, valkey_binary
from streams.topics import create_topics
from streams.worker.app import redis_client
from streams.worker.deadletter import decode_dead_letter
from tests.chaos.hostile import SKEW_MS, build
from tests.streams.worker.procs import WorkerProc, new_group, worker_env
from tests.streams.worker.tcpproxy import TcpProxy
from tests.streams.worker.test_broker_outage import _Tansu

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
KILLS = 10
ROOMS, STEPS = 25, int(os.environ.get("ROOMPULSE_CHAOS_STEPS", "1000"))  # ~200k messages
STALL_S = 10.0


class ForgetfulValkey:
    """valkey-server without any persistence: a restart comes back empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.TemporaryDirectory(prefix="chaos-valkey-")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [valkey_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        time.sleep(0.3)

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


async def produce(bootstrap: str, topics: TopicSettings, msgs) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=4 * 1024 * 1024,
                                compression_type="gzip", linger_ms=20)
    await producer.start()
    try:
        futures = [await producer.send(topics.name(kind), value, key=key)
                   for kind, key, value in msgs]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def dead_letters(bootstrap: str, topic: str, want: int, timeout: float = 30) -> list[dict]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen: dict[tuple, dict] = {}
    try:
        deadline = time.monotonic() + timeout
        while len(seen) < want and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    d = decode_dead_letter(r.value)
                    # At-least-once: a rebuild or a kill re-sends some; one per source position.
                    seen[(d["source_topic"], d["source_partition"], d["source_offset"])] = d
    finally:
        await consumer.stop()
    return list(seen.values())


async def applied(store: RedisKpiStore, group: str) -> int:
    try:
        return sum((await store.load_offsets(group)).values())
    except Exception:  # noqa: BLE001 - Redis is being restarted on purpose
        return -1


async def test_hostile_stream_with_kills_state_loss_and_broker_cut_stays_exact(stack):
    now = int(time.time() * 1000)
    h = build(now, ROOMS, STEPS)
    broker_port = free_port()
    proxy = TcpProxy(broker_port)
    await proxy.start()
    tansu = _Tansu(broker_port, proxy.port)
    valkey = ForgetfulValkey()
    valkey.start()
    bootstrap = f"127.0.0.1:{proxy.port}"
    ours = Stack(kafka=stack.kafka.model_copy(update={"bootstrap": bootstrap}),
                 redis=RedisSettings(url=SecretStr(f"redis://127.0.0.1:{valkey.port}/0")))
    topics = TopicSettings(prefix=f"c{uuid.uuid4().hex[:10]}", partitions=4)
    kpi = KpiSettings(key_prefix=f"k{uuid.uuid4().hex[:10]}")
    group = new_group()
    client = redis_client(ours.redis)
    store = RedisKpiStore(client, kpi)
    worker: WorkerProc | None = None
    try:
        for _ in range(100):
            try:
                await create_topics(ours.kafka, topics)
                break
            except Exception:  # noqa: BLE001 - the broker is still starting
                await asyncio.sleep(0.1)
        env = worker_env(ours, topics, kpi.key_prefix, group,
                         ROOMPULSE_WORKER_BATCH_MAX_RECORDS="2000",
                         ROOMPULSE_WORKER_ALERTS_ENABLED="false")
        worker = WorkerProc(env)
        await worker.wait_ready(60)
        n = len(h.messages)
        chunk = -(-n // KILLS)
        for i in range(KILLS):
            await produce(bootstrap, topics, h.messages[i * chunk:(i + 1) * chunk])
            await asyncio.sleep(0.8)  # let it work, then hit it
            if i == 4:
                valkey.restart()  # everything in Redis is gone
                await asyncio.sleep(1.0)
            if i == 7:
                await proxy.cut()
                await asyncio.sleep(4.0)
                await proxy.restore()
            worker.kill()
            worker = WorkerProc(env)
        last_fault = time.monotonic()
        before = await applied(store, group)
        await worker.wait_ready(60)
        ready = time.monotonic()
        progress_at = None
        while time.monotonic() - last_fault < 180:
            got = await applied(store, group)
            if progress_at is None and got != before:
                progress_at = time.monotonic()
            if got == n:
                break
            await asyncio.sleep(0.1)
        done = time.monotonic()
        print(f"chaos: {n} messages, {sum(h.rejected.values())} to dead-letter; last worker "
              f"ready {ready - last_fault:.1f}s after the last fault, first progress "
              f"{(progress_at or done) - ready:.1f}s after ready, done {done - last_fault:.1f}s")
        assert await applied(store, group) == n, "not every message applied"
        # The last worker moves on as soon as it is up: no stall behind the faults.
        assert progress_at is not None and progress_at - ready < STALL_S, "stalled"
        far = now + SKEW_MS + 60_000  # a window end past every valid event, skewed ones too
        for room, want in h.expected.items():
            snap = await store.room_kpis(room, "60m", now_ms=far)
            got_kpis = {k: snap.kpis[k].value for k in want}
            assert got_kpis == dict(want), room
        letters = await dead_letters(bootstrap, topics.deadletter, sum(h.rejected.values()))
        reasons = Counter(d["reason"] for d in letters)
        assert sum(reasons.values()) == sum(h.rejected.values()), (reasons, h.rejected)
        for reason in ("future_ts", "too_large", "invalid"):
            assert reasons[reason] == h.rejected[reason], reason
    finally:
        if worker is not None:
            worker.stop()
        await client.aclose()
        valkey.stop()
        await proxy.stop()
        tansu.stop()
