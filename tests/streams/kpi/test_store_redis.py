"""RedisKpiStore on the real valkey-server: round trip, atomic offsets, TTLs, parity with memory."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from streams.bench.fold import make_events
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_memory import InMemoryKpiStore
from streams.kpi.store_redis import RedisKpiStore
from tests.streams.kpi.factory import T0, ev, order

# Fixtures and tests share the session loop, so a client is opened and closed on one loop.
pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
TP = ("t.views", 0)
# KPIs that rest on HyperLogLog counts: compared within HLL error, the rest exactly.
HLL_BASED = {"uv", "interacting_users", "interaction_rate", "cart_users", "cart_rate", "buyers",
             "order_rate", "aov", "uv_value", "private_domain_joins", "private_domain_share",
             "repurchase_rate_7d", "repurchase_rate_30d", "click_users"}


@pytest.fixture
async def client(stack):
    r = aioredis.from_url(stack.redis_url)
    yield r
    await r.aclose()


@pytest.fixture
def settings():
    return KpiSettings(key_prefix=f"t{uuid.uuid4().hex[:10]}")


async def apply_batches(stores, events, batch, settings):
    folder = BatchFolder(settings)
    for i in range(0, len(events), batch):
        for e in events[i:i + batch]:
            folder.add(e)
        d = folder.take()
        for s in stores:
            assert await s.apply(d, {TP: i + batch}, "g", 1_000 + i)


def assert_close(a, b, name):
    if a.value is None or b.value is None:
        assert a.value == b.value, name
    elif name in HLL_BASED:
        assert a.value == pytest.approx(b.value, rel=0.03, abs=1), name
    else:
        assert a.value == pytest.approx(b.value), name
        assert (a.numerator, a.denominator) == (b.numerator, b.denominator), name


async def test_redis_matches_memory_store(client, settings):
    red, mem = RedisKpiStore(client, settings), InMemoryKpiStore(settings)
    events = [ev("broadcast_start", 0, room=f"room-{i}", user=None, brand_id="B")
              for i in range(3)]
    # Two hours of events: broadcast-to-date reads mix coarse (old) and fine (recent) buckets.
    events += make_events(3_000, rooms=3, products=4, users=2_000, span_ms=24_000_000)
    await apply_batches((red, mem), events, 500, settings)
    for window in ("1m", "5m", "30m", "broadcast", "first:1m"):
        for room in ("room-0", "room-2"):
            a, b = await red.room_kpis(room, window), await mem.room_kpis(room, window)
            assert a.info == b.info
            if window == "broadcast":
                assert a.info.start_ms == T0 and a.kpis["entries"].value > 100
            assert a.kpis["entries"].value > 0 or window == "1m"
            for name in a.kpis:
                assert_close(a.kpis[name], b.kpis[name], name)
            pa, pb = await red.product_kpis(room, window), await mem.product_kpis(room, window)
            assert {p.product_id for p in pa} == {p.product_id for p in pb}
            by_id = {p.product_id: p for p in pb}
            for p in pa:
                for name in p.kpis:
                    assert_close(p.kpis[name], by_id[p.product_id].kpis[name], name)
            assert await red.source_kpis(room, window) == await mem.source_kpis(room, window)
    assert await red.rooms() == await mem.rooms()
    assert await red.stream_clock_ms() == await mem.stream_clock_ms()
    assert await red.load_offsets("g") == await mem.load_offsets("g") == {TP: 3_500}


async def test_offsets_are_atomic_with_the_batch(client, settings):
    store = RedisKpiStore(client, settings)
    folder = BatchFolder(settings)
    folder.add(ev("enter", 0))
    folder.add(order(1_000, amount=3))
    d = folder.take()
    assert await store.apply(d, {TP: 2, ("t.orders", 1): 9}, "g", 5)
    assert await store.load_offsets("g") == {TP: 2, ("t.orders", 1): 9}
    keys = sorted(await client.keys(f"{settings.key_prefix}:*"))
    before = {k: await client.dump(k) for k in keys}
    assert not await store.apply(d, {TP: 2, ("t.orders", 1): 9}, "g", 6)  # exact replay
    assert not await store.apply(d, {TP: 1}, "g", 7)  # stale writer
    assert sorted(await client.keys(f"{settings.key_prefix}:*")) == keys
    assert {k: await client.dump(k) for k in keys} == before  # nothing written at all
    snap = await store.room_kpis("r1", "1m")
    assert snap.kpis["gmv"].value == 3 and snap.info.as_of_ms == 5


async def test_ttls_are_set_and_kept_across_batches(client, settings):
    store = RedisKpiStore(client, settings)
    k = store.keys
    for i, e in enumerate((ev("enter", 0), ev("enter", 1, user="u2"), order(2))):
        folder = BatchFolder(settings)
        folder.add(e)
        assert await store.apply(folder.take(), {TP: i + 1}, "g", 10 + i)
    fine_ttl = await client.ttl(k.bucket("r1", "f", T0))
    assert 0 < fine_ttl <= settings.bucket_ttl_s
    coarse_ttl = await client.ttl(k.bucket("r1", "c", T0))
    assert settings.bucket_ttl_s < coarse_ttl <= settings.coarse_ttl_s
    assert 0 < await client.ttl(k.hll("r1", "f", T0, "uv")) <= settings.bucket_ttl_s
    assert 0 < await client.ttl(k.product_hll("r1", "c", T0, "by", "p1")) <= settings.coarse_ttl_s
    assert 0 < await client.ttl(k.state("r1")) <= settings.room_ttl_s
    assert 0 < await client.ttl(k.buyers("r1")) <= settings.buyer_history_ms // 1000
    assert await client.ttl(k.offsets("g")) == -1  # offsets never expire


async def test_large_distinct_counts_within_hll_error(client, settings):
    store = RedisKpiStore(client, settings)
    events = [ev("enter", i, user=f"user-{i}") for i in range(20_000)]
    await apply_batches((store,), events, 5_000, settings)
    uv = (await store.room_kpis("r1", "1m")).kpis["uv"].value
    assert uv == pytest.approx(20_000, rel=0.02)


async def test_decoded_client_script_reload_and_ping(stack, settings):
    r = aioredis.from_url(stack.redis_url, decode_responses=True)
    try:
        store = RedisKpiStore(r, settings)
        await r.script_flush()  # the script cache is empty, as after a Redis restart
        folder = BatchFolder(settings)
        folder.add(ev("product_pinned", 0, user=None, product_id="p1", product_name="名字"))
        assert await store.apply(folder.take(), {TP: 1}, "g", 1)
        assert (await store.room_state("r1")).pinned_product_name == "名字"
        assert await store.load_offsets("g") == {TP: 1}
        assert await store.ping()
    finally:
        await r.aclose()
    dead = aioredis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.5)
    try:
        assert not await RedisKpiStore(dead, settings).ping()
    finally:
        await dead.aclose()


async def test_control_and_repurchase_logic_match_memory(client, settings):
    red, mem = RedisKpiStore(client, settings), InMemoryKpiStore(settings)
    day = 86_400_000
    batches = [
        [ev("broadcast_start", 0, user=None, brand_id="B", platform="taobao"),
         ev("broadcast_start", 0, room="r2", user=None, brand_id="B"),
         ev("phase_change", 10, user=None, phase="live"), order(0, user="a"), order(0, user="b"),
         ev("product_pinned", 20, user=None, product_id="p1", product_name="Serum")],
        [ev("broadcast_end", 60_000, user=None), order(3 * day, user="a", room="r2"),
         order(20 * day, user="b"), ev("phase_change", 5, user=None, phase="warmup")],
        [ev("broadcast_start", 21 * day, user=None), order(21 * day, user="b", brand_id="C"),
         ev("stage_change", 21 * day, user=None, stage="retention")],
    ]
    for i, batch in enumerate(batches):
        folder = BatchFolder(settings)
        for e in batch:
            folder.add(e)
        d = folder.take()
        for s in (red, mem):
            assert await s.apply(d, {TP: i + 1}, "g", 100 + i)
    assert await red.rooms() == await mem.rooms()
    st = await red.room_state("r1")
    assert st.live and st.stage == "retention" and st.phase == "live" and st.brand_id == "B"
    for room, now, window in (("r1", T0 + 21 * day, "broadcast"), ("r1", T0 + 21 * day, "1h"),
                              ("r2", T0 + 3 * day + 1, "1h")):
        a = await red.room_kpis(room, window, now_ms=now)
        assert a == await mem.room_kpis(room, window, now_ms=now)
        assert a.kpis["buyers"].value == 1
    a = await red.room_kpis("r2", "1h", now_ms=T0 + 3 * day + 1)
    assert a.kpis["repurchase_rate_7d"].value == 1.0
    # The Redis store never reads further back than its coarse TTL; the memory store does.
    r2 = await red.room_kpis("r2", "broadcast", now_ms=T0 + 21 * day)
    assert r2.info.start_ms == T0 + 21 * day - settings.coarse_ttl_s * 1000
    assert (await mem.room_kpis("r2", "broadcast", now_ms=T0 + 21 * day)).info.start_ms == T0


async def test_a_refused_batch_does_not_cost_a_key_its_ttl(client, settings):
    store = RedisKpiStore(client, settings)
    first = BatchFolder(settings)
    first.add(ev("enter", 0))
    assert await store.apply(first.take(), {TP: 10}, "g", 1)
    late = BatchFolder(settings)
    late.add(ev("enter", 60_000))  # a new bucket, in a batch from a stale writer
    d = late.take()
    assert not await store.apply(d, {TP: 5}, "g", 2)
    assert await store.apply(d, {TP: 11}, "g", 3)
    assert await client.ttl(store.keys.bucket("r1", "f", T0 + 60_000)) > 0


async def test_a_late_earlier_order_makes_the_later_one_a_repeat_in_both_stores(client,
                                                                                settings):
    """Repurchase does not depend on arrival order: the earlier order arriving one batch late
    still makes the later order (in another room of the brand) a 7-day repeat."""
    red, mem = RedisKpiStore(client, settings), InMemoryKpiStore(settings)
    later = order(60_000, user="u9", brand_id="B", room="r-late")
    earlier = order(0, user="u9", brand_id="B", room="r-early")
    for i, batch in enumerate(([later], [earlier])):
        folder = BatchFolder(settings)
        for e in batch:
            folder.add(e)
        d = folder.take()
        for s in (red, mem):
            assert await s.apply(d, {TP: i + 1}, "g", 100 + i)
    for s in (red, mem):
        late = await s.room_kpis("r-late", "1h", now_ms=T0 + 120_000)
        early = await s.room_kpis("r-early", "1h", now_ms=T0 + 120_000)
        assert late.kpis["repurchase_rate_7d"].value == 1.0, type(s).__name__
        assert early.kpis["repurchase_rate_7d"].value == 0.0, type(s).__name__


async def test_ids_with_quotes_backslashes_and_emoji_read_back_through_the_script_reads(
        client, settings):
    """Reads send key names to valkey as one JSON argument (store_redis.HGETALL_MANY_LUA):
    every character the contract allows in an id must survive the JSON round trip."""
    room, product = 'r"q\\b:😀 x', 'p"\\ü:{'.replace("{", "[")
    red, mem = RedisKpiStore(client, settings), InMemoryKpiStore(settings)
    events = [ev("broadcast_start", 0, room=room, user=None, brand_id="B")]
    for i in range(20):
        events += [ev("enter", i * 1000, room=room, user=f"u{i}"),
                   ev("product_click", i * 1000 + 1, room=room, user=f"u{i}", product_id=product),
                   order(i * 1000 + 2, user=f"u{i}", product=product, room=room)]
    await apply_batches((red, mem), events, 25, settings)
    a, b = await red.room_kpis(room, "broadcast"), await mem.room_kpis(room, "broadcast")
    assert a.kpis["entries"].value == b.kpis["entries"].value == 20
    assert a.kpis["uv"].value == b.kpis["uv"].value == 20  # a PFCOUNT group read by the script
    (pa,), (pb,) = await red.product_kpis(room, "broadcast"), await mem.product_kpis(room,
                                                                                     "broadcast")
    assert pa.product_id == pb.product_id == product
    assert pa.kpis["gmv"].value == pb.kpis["gmv"].value == 200.0
    assert [s.room_id for s in await red.rooms()] == [room]
