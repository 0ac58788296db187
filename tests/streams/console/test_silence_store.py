"""RedisSilenceStore against the real Redis, one node and a Cluster (the `redis_client` fixture):
shared across clients, listed, expired, pruned."""

from __future__ import annotations

import time
import uuid

import pytest

from alerts.silences import new_silence
from streams.alerting.redis_state import KEEP_EXPIRED_MS, RedisSilenceStore
from streams.console.silencing import AlertSilences

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
T0 = int(time.time() * 1000)  # the store prunes by wall clock


async def test_add_list_expire_shared_between_stores(redis_client):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    a, b = RedisSilenceStore(redis_client, prefix), RedisSilenceStore(redis_client, prefix)
    s = await a.add(new_silence({"rule": "low_ctr", "room_id": "r1"}, 600_000, created_by="alice",
                                now_ms=T0))
    assert [x.id for x in await b.list(active_at=T0 + 1)] == [s.id]
    assert await b.list(active_at=T0 + 600_000) == []
    assert await b.expire(s.id, now_ms=T0 + 10)
    assert not await b.expire(s.id, now_ms=T0 + 20)  # already over
    assert not await b.expire("nope")
    assert await a.list(active_at=T0 + 11) == []
    assert [x.created_by for x in await a.list()] == ["alice"]


async def test_old_silences_are_pruned(redis_client):
    store = RedisSilenceStore(redis_client, f"t{uuid.uuid4().hex[:8]}")
    old = await store.add(new_silence({"rule": "x"}, 1000, now_ms=T0 - KEEP_EXPIRED_MS - 10_000))
    recent = await store.add(new_silence({"rule": "y"}, 1000, now_ms=T0 - 60_000))
    assert {s.id for s in await store.list()} == {recent.id}
    assert old.id not in {s.id for s in await store.list()}


async def test_console_adapter_over_redis(redis_client):
    silences = AlertSilences(RedisSilenceStore(redis_client, f"t{uuid.uuid4().hex[:8]}"))
    made = await silences.add(rule="low_ctr", room_id="r1", minutes=5, by="alice", now_ms=T0)
    (listed,) = await silences.active(T0 + 1)
    assert listed == made
    assert (made.rule, made.room_id, made.created_by) == ("low_ctr", "r1", "alice")
    assert made.ends_ms == T0 + 300_000
