"""Redis goes away mid-stream (killed, then restarted from its append-only file): no loss."""

from __future__ import annotations

import logging
import subprocess
import tempfile
import time

import pytest
import redis

from streams.bench import workload
from streams.kpi.store_redis import RedisKpiStore
from streams.settings import RedisSettings
from streams.stack import free_port, valkey_binary
from streams.worker.app import redis_client
from tests.streams.worker.conftest import consumed, make_engine, running, wait_for
from tests.streams.worker.test_engine import assert_exact

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


class DurableValkey:
    """A valkey-server that fsyncs every write, so a SIGKILL loses nothing it acknowledged."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.TemporaryDirectory(prefix="valkey-outage-")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [valkey_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", self.dir.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError("valkey did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def close(self) -> None:
        self.kill()
        self.dir.cleanup()


async def test_redis_outage_pauses_then_resumes_without_loss(stack, topic_settings,
                                                             kpi_settings, caplog):
    caplog.set_level(logging.WARNING, logger="streams.worker")
    valkey = DurableValkey()
    valkey.start()
    client = redis_client(RedisSettings(url=f"redis://127.0.0.1:{valkey.port}/0"))
    store = RedisKpiStore(client, kpi_settings)
    now = int(time.time() * 1000)
    first = workload.build(2, 50, now - 3_000, tag="a", dup_every=6)
    second = workload.build(2, 50, now, tag="b", bad_every=10)
    engine = make_engine(stack, topic_settings, kpi_settings, store, batch_max_records=100,
                         retry_cap_s=0.5)
    try:
        async with running(engine):
            await workload.produce(stack.kafka, topic_settings, first.messages)
            await wait_for(lambda: consumed(engine) >= len(first.messages), what="first half")
            valkey.kill()
            await workload.produce(stack.kafka, topic_settings, second.messages)
            await wait_for(lambda: engine.redis.down, what="outage noticed")
            assert engine.metrics.redis_up._value.get() == 0
            valkey.start()
            total = len(first.messages) + len(second.messages)
            await wait_for(lambda: consumed(engine) >= total, 20, "second half")
            assert not engine.redis.down
        await assert_exact(store, first)
        await assert_exact(store, second)
        assert sum((await store.load_offsets(engine.group)).values()) == total
    finally:
        await client.aclose()
        valkey.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "streams.worker.retry"
             or "Redis" in r.getMessage()]
    assert sum("Redis unavailable" in m for m in lines) == 1, lines
    assert sum("Redis is back" in m for m in lines) == 1, lines
