"""RoomWindowReader on a real valkey: the same KPIs as the store's exact reads, tick after tick,
while events arrive and windows slide; late data reaches it at the next refresh."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from streams.kpi.config import KpiSettings
from streams.kpi.roomread import Need, RoomWindowReader
from streams.kpi.store_memory import InMemoryKpiStore
from streams.kpi.store_redis import RedisKpiStore
from tests.streams.rooms import apply_events, event, room_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
START = 1_767_240_000_000
MIN = 60_000
WINDOWS = ("5m", "10m", "15m", "broadcast", "first:30m")
ROOMS = ("room-a", "room-b")


@pytest.fixture
async def store(stack):
    r = aioredis.from_url(stack.redis_url)
    yield RedisKpiStore(r, KpiSettings(key_prefix=f"t{uuid.uuid4().hex[:8]}"))
    await r.aclose()


class Wall:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def requests(now: int) -> dict:
    """Every level and window at `now`, and the previous 10 minutes (a change rule's baseline)."""
    reqs = {(per, w, now): Need() for per in ("room", "product", "source") for w in WINDOWS}
    reqs.update({(per, "10m", now - 10 * MIN): Need() for per in ("room", "product")})
    return reqs


async def exact(store, per: str, room: str, window: str, now: int):
    if per == "room":
        return dict((await store.room_kpis(room, window, now)).kpis)
    if per == "product":
        return [(p.product_id, p.product_name, dict(p.kpis))
                for p in await store.product_kpis(room, window, now)]
    return [(s.source, dict(s.kpis)) for s in await store.source_kpis(room, window, now)]


def shown(per: str, got):
    if per == "room":
        return dict(got.kpis)
    if per == "product":
        return [(p.product_id, p.product_name, dict(p.kpis)) for p in got]
    return [(s.source, dict(s.kpis)) for s in got]


async def check_tick(store, reader, now: int) -> None:
    results = await reader.read_many([(room, requests(now)) for room in ROOMS])
    for room, (state, rows) in zip(ROOMS, results, strict=True):
        assert state is not None and state.room_id == room
        for (per, window, at), got in rows.items():
            assert shown(per, got) == await exact(store, per, room, window, at), \
                (room, per, window, at - now)


async def test_every_window_equals_the_exact_read_while_windows_slide(store):
    events = [e for r in ROOMS for e in room_events(r, START, 40, brand="b", stage="conversion",
                                                    per_minute=6)]
    await apply_events(store, events, START + 40 * MIN)
    wall = Wall()
    reader = RoomWindowReader(store, settle_ms=15_000, refresh_ms=10**9, wall=wall)
    now = START + 40 * MIN
    for step in range(14):  # 3.5 s per step: slides across several 10 s buckets
        more = [e for r in ROOMS for e in room_events(r, now, 1, brand="b", stage="conversion",
                                                      per_minute=2, seed=step)[4:]]
        now += 3_500
        await apply_events(store, [e for e in more if e.ts <= now], now)
        await check_tick(store, reader, now)
    # after the first tick most buckets came from the cache, and most counts too
    assert reader.stats.buckets < 14 * len(ROOMS) * 60
    assert reader.stats.hll_hits > 0


async def test_late_data_in_a_settled_bucket_arrives_with_the_refresh(store):
    events = room_events("room-a", START, 20, brand="b", stage="conversion", per_minute=6)
    await apply_events(store, events, START + 20 * MIN)
    wall = Wall()
    reader = RoomWindowReader(store, settle_ms=15_000, refresh_ms=30_000, wall=wall)
    now = START + 20 * MIN
    need = {("room", "10m", now): Need(frozenset({"entries"}))}
    (_, rows), = await reader.read_many([("room-a", need)])
    before = rows[("room", "10m", now)].kpis["entries"].value
    late = event("enter", "room-a", now - 5 * MIN, "late-user", source="search")
    await apply_events(store, [late], now)
    (_, rows), = await reader.read_many([("room-a", need)])
    assert rows[("room", "10m", now)].kpis["entries"].value == before  # cached: not yet
    wall.t += 31  # past any jittered refresh (15-30 s)
    (_, rows), = await reader.read_many([("room-a", need)])
    assert rows[("room", "10m", now)].kpis["entries"].value == before + 1


async def test_only_the_wanted_kpis_and_products_come_back():
    store = InMemoryKpiStore()
    await apply_events(store, room_events("room-a", START, 15, brand="b", stage="conversion",
                                          per_minute=6, products=4), START + 15 * MIN)
    reader = RoomWindowReader(store)
    now = START + 15 * MIN
    pinned = frozenset({"room-a-p0"})
    (state, rows), = await reader.read_many([("room-a", {
        ("room", "5m", now): Need(frozenset({"ctr", "interaction_rate"})),
        ("product", "10m", now): Need(frozenset({"cart_rate"}), pinned)})])
    assert state.pinned_product_id == "room-a-p0"
    assert set(rows[("room", "5m", now)].kpis) == {"ctr", "interaction_rate"}
    assert [p.product_id for p in rows[("product", "10m", now)]] == ["room-a-p0"]
    exact_kpis = (await store.room_kpis("room-a", "5m", now)).kpis
    assert rows[("room", "5m", now)].kpis["interaction_rate"] == exact_kpis["interaction_rate"]
    (gone, rows), = await reader.read_many([("no-such-room", {("room", "5m", now): Need()})])
    assert gone is None and rows == {}
