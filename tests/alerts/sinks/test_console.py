"""ConsoleFeed: newest-first feed, current alerts, acknowledgements kept per firing episode; in
memory, on one Redis node and on a Redis Cluster."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from redis.crc import key_slot

from alerts.model import Alert, Audience, Evidence, fingerprint
from alerts.sinks.base import Sink
from alerts.sinks.console import ConsoleFeed, MemoryConsoleFeed
from alerts.sinks.errors import DeliveryError
from streams.settings import RedisSettings
from streams.stack import free_port
from streams.worker.app import redis_client as make_client

pytestmark = pytest.mark.asyncio(loop_scope="session")
T0 = 1_763_000_000_000


def alert(rule: str = "low_ctr", room: str = "r1", state: str = "firing", starts_at: int = T0,
          **labels: str) -> Alert:
    return Alert(
        fingerprint=fingerprint(rule, room, labels), rule=rule, room_id=room, state=state,
        severity="warning", audience=(Audience.control_room,), labels=labels,
        starts_at=starts_at, ends_at=None if state == "firing" else starts_at + 60_000,
        evidence=Evidence(kpi="ctr", value=0.01, window="5m", target=0.03),
        summary={"zh-CN": "点击率低", "en": "CTR low"}, action={"zh-CN": "讲解", "en": "pitch"})


@pytest.fixture
async def redis_feed(redis_client):
    prefix = f"t{uuid.uuid4().hex[:8]}:console"
    yield ConsoleFeed(redis_client, prefix=prefix, maxlen=50), redis_client, prefix


@pytest.fixture(params=["memory", "redis", "cluster"])
def backend(request):
    # Start the servers outside the event loop (their start-up runs asyncio.run).
    if request.param == "memory":
        return None
    if request.param == "cluster":
        return RedisSettings(url=SecretStr(request.getfixturevalue("redis_cluster").url),
                             cluster=True)
    return request.getfixturevalue("stack").redis


@pytest.fixture
async def feed(backend):
    if backend is None:
        yield MemoryConsoleFeed(maxlen=50, log_maxlen=10, registry=CollectorRegistry())
        return
    client = make_client(backend)  # the worker's own client: asyncio Redis or RedisCluster
    try:
        yield ConsoleFeed(client, prefix=f"t{uuid.uuid4().hex[:8]}:console", maxlen=50,
                          log_maxlen=10, registry=CollectorRegistry())
    finally:
        await client.aclose()


async def test_both_are_sinks():
    assert isinstance(MemoryConsoleFeed(), Sink)
    assert MemoryConsoleFeed().name == ConsoleFeed(None).name == "console"


async def test_recent_is_newest_first_and_current_tracks_state(feed):
    a, b = alert("low_ctr"), alert("low_entry", starts_at=T0 + 1000)
    await feed.send([a])
    await feed.send([b])
    await feed.send([alert("low_ctr", state="resolved")])
    recent = await feed.recent(10)
    assert [(e.kind, e.data["alert"]["rule"], e.data["alert"]["state"]) for e in recent] == [
        ("alert", "low_ctr", "resolved"), ("alert", "low_entry", "firing"),
        ("alert", "low_ctr", "firing")]
    assert [x.rule for x in await feed.current()] == ["low_entry"]
    assert await feed.last_id() == recent[0].id


async def test_ack_is_recorded_once_and_only_for_firing(feed):
    a = alert()
    await feed.send([a])
    first = await feed.ack(a.fingerprint, "alice", now_ms=T0 + 5)
    assert (first.by, first.at_ms, first.starts_at) == ("alice", T0 + 5, T0)
    again = await feed.ack(a.fingerprint, "carol", now_ms=T0 + 9)
    assert (again.by, again.at_ms) == ("alice", T0 + 5)  # the first acknowledgement stands
    assert await feed.ack("0000000000000000", "alice") is None
    acks = await feed.acks([(a.fingerprint, T0), (a.fingerprint, T0 + 1)])
    assert list(acks) == [(a.fingerprint, T0)]
    kinds = [e.kind for e in await feed.recent(10)]
    assert kinds == ["ack", "alert"]  # one ack entry: the repeat did not announce anything
    # A new firing episode of the same series is not acknowledged.
    await feed.send([alert(state="resolved")])
    assert await feed.ack(a.fingerprint, "alice") is None
    await feed.send([alert(starts_at=T0 + 600_000)])
    assert await feed.acks([(a.fingerprint, T0 + 600_000)]) == {}


async def test_follow_returns_only_newer_entries(feed):
    await feed.send([alert("a")])
    mark = await feed.last_id()
    assert await feed.follow(mark, block_ms=10) == []
    await feed.send([alert("b"), alert("c")])
    await feed.announce("silence", {"silence": {"id": "s1"}})
    got = await feed.follow(mark, block_ms=10)
    assert [e.kind for e in got] == ["alert", "alert", "silence"]
    assert [e.data.get("alert", {}).get("rule") for e in got[:2]] == ["b", "c"]


async def test_feed_is_capped(feed):
    for i in range(200):
        await feed.send([alert(f"rule{i}")])
    recent = await feed.recent(1000)
    # Redis trims approximately (whole macro nodes): capped, but maybe a little above maxlen.
    assert 50 <= len(recent) < 200
    assert recent[0].data["alert"]["rule"] == "rule199"


async def test_acks_survive_a_new_feed_object(redis_feed):
    feed, client, prefix = redis_feed
    a = alert()
    await feed.send([a])
    await feed.ack(a.fingerprint, "alice", now_ms=T0 + 7)
    other = ConsoleFeed(client, prefix=prefix)  # e.g. another worker process
    acks = await other.acks([(a.fingerprint, T0)])
    assert acks[(a.fingerprint, T0)].by == "alice"
    assert [x.fingerprint for x in await other.current()] == [a.fingerprint]


async def test_redis_down_is_a_retryable_sink_error():
    client = aioredis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    try:
        with pytest.raises(DeliveryError) as info:
            await ConsoleFeed(client).send([alert()])
        assert info.value.retryable
    finally:
        await client.aclose()


async def test_feed_keys_share_one_cluster_slot(redis_feed):
    """What the feed writes together (send: hash + stream) or reads together (acks: MGET) must
    be one slot, or a Cluster refuses it; on one node this holds just the same."""
    feed, client, _ = redis_feed
    a = alert()
    await feed.send([a])
    await feed.ack(a.fingerprint, "alice", now_ms=T0 + 1)
    b = alert(room="{x}r2")  # a room id cannot pick another slot
    await feed.send([b])
    names = [feed.keys.stream, feed.keys.current, feed.keys.ack(a.fingerprint, T0),
             feed.keys.log(a.room_id), feed.keys.log(b.room_id)]
    assert [await client.exists(n) for n in names] == [1, 1, 1, 1, 1]
    assert len({key_slot(n.encode()) for n in names}) == 1


async def test_a_rooms_log_keeps_what_the_feed_scrolled_out(feed):
    """Each room's transitions and acknowledgements, in order, however much other rooms alert;
    a repeated acknowledgement logs nothing; read incrementally from the last id."""
    a = alert(room="r1")
    await feed.send([a])
    await feed.send([alert(f"x{i}", room=f"r{i % 7 + 2}") for i in range(120)])
    await feed.ack(a.fingerprint, "alice", now_ms=T0 + 30_000)
    await feed.ack(a.fingerprint, "carol", now_ms=T0 + 40_000)
    await feed.send([alert(f"y{i}", room=f"r{i % 7 + 2}") for i in range(120)])
    await feed.send([alert(room="r1", state="resolved")])
    assert not [e for e in await feed.recent(1000) if e.kind == "ack"]  # scrolled out
    log = await feed.room_log("r1", "0-0")
    assert [(e.kind, e.data.get("alert", {}).get("state")) for e in log] == [
        ("alert", "firing"), ("ack", None), ("alert", "resolved")]
    assert {k: log[1].data[k] for k in ("by", "at_ms", "starts_at", "room_id", "rule", "kpi")} \
        == {"by": "alice", "at_ms": T0 + 30_000, "starts_at": T0, "room_id": "r1",
            "rule": "low_ctr", "kpi": "ctr"}
    assert [e.id for e in await feed.room_log("r1", log[0].id)] == [e.id for e in log[1:]]
    assert await feed.room_log("r1", log[-1].id) == []
    assert await feed.room_log("nobody", "0-0") == []


async def test_a_rooms_log_is_capped_and_what_it_drops_is_counted(feed):
    for i in range(25):
        await feed.send([alert(f"rule{i}", room="r1"), alert(f"rule{i}", room="r2")])
    log = await feed.room_log("r1", "0-0")
    assert [e.data["alert"]["rule"] for e in log] == [f"rule{i}" for i in range(15, 25)]
    assert len(await feed.room_log("r2", "0-0")) == 10
    (total,) = [x.value for x in feed.trimmed.collect()[0].samples if x.name.endswith("_total")]
    assert total == 2 * 15  # each feed here has a registry of its own


async def test_a_rooms_log_expires_with_the_room(redis_client):
    feed = ConsoleFeed(redis_client, prefix=f"t{uuid.uuid4().hex[:8]}:console", log_ttl_s=3600)
    a = alert(room="r1")
    await feed.send([a])
    assert 3_590_000 < await redis_client.pttl(feed.keys.log("r1")) <= 3_600_000
    await redis_client.pexpire(feed.keys.log("r1"), 1000)
    await feed.ack(a.fingerprint, "alice")  # every write renews it
    assert 3_590_000 < await redis_client.pttl(feed.keys.log("r1")) <= 3_600_000
