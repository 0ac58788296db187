"""The live path on a real Redis, one node and a Cluster (the `redis_client` fixture): KPI store
-> evaluator -> pipeline, across a worker restart."""

from __future__ import annotations

import uuid

import orjson
import pytest
from prometheus_client import CollectorRegistry

from alerts.clock import now_ms
from alerts.lifecycle import Series, State
from alerts.model import Alert
from alerts.notifylog import Entry
from alerts.silences import new_silence
from schemas.decode import decode
from schemas.events import MAX_TS_MS
from streams.alerting.install import build_runtime
from streams.alerting.redis_state import (
    RedisNotificationLog,
    RedisSeriesStore,
    RedisSilenceStore,
)
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_cluster import kpi_store
from streams.settings import TopicSettings
from streams.simulator.config import ScenarioSpec, SimConfig
from streams.simulator.generate import Simulation

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
START = 1_767_240_000_000


def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


async def test_redis_stores_round_trip(redis_client):
    redis = redis_client
    p = prefix()
    series = RedisSeriesStore(redis, p)
    s = Series(fingerprint="f1", rule="r", room_id="room-1", state=State.firing, fired_at=5)
    await series.save([s], [])
    assert await series.load() == {"f1": s}
    await series.save([], ["f1"])
    assert await series.load() == {}

    # Upserts and deletes of one save land together, in chunks past the script's unpack size.
    many = [s.model_copy(update={"fingerprint": f"f{i}"}) for i in range(1200)]
    await series.save(many, [])
    await series.save([s.model_copy(update={"fingerprint": "new", "fired_at": 9})],
                      [f"f{i}" for i in range(1, 1200)])
    assert {k: v.fired_at for k, v in (await series.load()).items()} == {"f0": 5, "new": 9}
    await series.save([], ["f0", "new"])
    assert await series.load() == {}

    log = RedisNotificationLog(redis, p)
    await log.put({"rx:f1": Entry(state="firing", sent_at=1, starts_at=1)})
    assert (await log.get(["rx:f1", "rx:f2"])) == {"rx:f1": Entry(state="firing", sent_at=1,
                                                                   starts_at=1)}
    await log.delete(["rx:f1"])
    assert await log.get(["rx:f1"]) == {}

    silences = RedisSilenceStore(redis, p)
    now = now_ms()
    sil = await silences.add(new_silence({"room_id": "room-1"}, 60_000, now_ms=now))
    old = await silences.add(new_silence({"room_id": "x"}, 60_000, now_ms=now - 30 * 86_400_000))
    assert [x.id for x in await silences.list(active_at=now + 1)] == [sil.id]
    assert [x.id for x in await silences.list()] == [sil.id]  # a month-old one is gone
    assert not await silences.expire(old.id, now_ms=now)
    assert await silences.expire(sil.id, now_ms=now + 10)
    assert await silences.list(active_at=now + 20) == []
    assert not await silences.expire("nope")


async def test_stalled_room_alert_survives_a_restart_without_repeating(redis_client):
    redis = redis_client
    cfg = SimConfig(start_ms=START, rooms=2, seed=5, duration_min=26, exposures_per_min=100,
                    scenarios=(ScenarioSpec.parse("stream-stall:room-2"),))
    sim = Simulation(cfg)
    (stall,) = sim.scenarios
    p = prefix()
    store = kpi_store(redis, KpiSettings(key_prefix=p))  # the Cluster's store on a Cluster
    sent: list[Alert] = []

    async def send(topic, key, value):
        assert topic == "x.alerts" and key == b"room-2"
        sent.append(Alert.model_validate(orjson.loads(value)))

    def runtime():
        return build_runtime(store, redis, registry=CollectorRegistry(), send=send,
                             topics=TopicSettings(prefix="x"), key_prefix=p)

    rt = runtime()
    folder, step, next_at, n = BatchFolder(store.settings), 10_000, START + 10_000, 0
    restarted = False
    for msg in sim.messages():
        ev = decode(msg.value, now_ms=MAX_TS_MS)
        while ev.ts >= next_at:
            n += 1
            await store.apply(folder.take(), {("t", 0): n}, "g", next_at)
            await rt.tick()
            if sent and not restarted:  # the alert fired: restart the worker right away
                rt, restarted = runtime(), True
            next_at += step
        folder.add(ev)
    assert restarted
    assert [(a.rule, a.room_id, a.state.value) for a in sent] == [
        ("room-stalled", "room-2", "firing"), ("room-stalled", "room-2", "resolved")]
    firing, resolved = sent
    # 60 s after the last event before the stall, seen within one 10 s step
    assert stall["start_ms"] + 50_000 <= firing.starts_at <= stall["start_ms"] + 80_000
    assert resolved.starts_at == firing.starts_at and resolved.ends_at >= stall["end_ms"]
