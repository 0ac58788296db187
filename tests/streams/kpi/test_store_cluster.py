"""ClusterKpiStore on a real 3-master Redis Cluster: parity with the memory store, and exact
KPIs when the worker dies between (or in the middle of) the apply's steps."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError

from streams.bench.fold import make_events
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_base import Outcome
from streams.kpi.store_cluster import ClusterKpiStore, split_rooms
from streams.kpi.store_memory import InMemoryKpiStore
from tests.streams.kpi.factory import ev, order
from tests.streams.kpi.test_store_redis import assert_close

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
TP = ("t.views", 0)


@pytest.fixture
async def cclient(redis_cluster):
    r = RedisCluster.from_url(redis_cluster.url)
    yield r
    await r.aclose()


@pytest.fixture
def settings():
    return KpiSettings(key_prefix=f"t{uuid.uuid4().hex[:10]}")


class Crash(RedisConnectionError):
    """The worker 'dies' here: the step calls after this point never reach Redis."""


class CrashingStore(ClusterKpiStore):
    """Runs `survive` calls of step `at` (their pipeline executes), then dies."""

    def __init__(self, *a, at: str, survive: int = 0, **kw) -> None:
        super().__init__(*a, **kw)
        self.at, self.survive = at, survive

    async def _steps(self, calls):
        if calls and calls[0][0] == self.at:
            await super()._steps(calls[:self.survive])
            raise Crash(f"died during {self.at} after {self.survive} calls")
        return await super()._steps(calls)


def events():
    out = [ev("broadcast_start", 0, room=f"room-{i}", user=None, brand_id="B") for i in range(6)]
    out += make_events(1_500, rooms=6, products=4, users=300, span_ms=600_000)
    # The same buyers in several rooms of one brand: repurchase crosses rooms (and slots).
    out += [order(700_000 + i * 1_000, user=f"buyer-{i % 5}", room=f"room-{i % 6}", amount=5)
            for i in range(40)]
    return out


def delta(evs, settings):
    folder = BatchFolder(settings)
    for e in evs:
        folder.add(e)
    return folder.take()


async def same_kpis(store, ref, rooms=("room-0", "room-3", "room-5")):
    for window in ("5m", "broadcast"):
        for room in rooms:
            a, b = await store.room_kpis(room, window), await ref.room_kpis(room, window)
            assert a.info == b.info
            for name in a.kpis:
                assert_close(a.kpis[name], b.kpis[name], name)
            pa = {p.product_id: p for p in await store.product_kpis(room, window)}
            pb = {p.product_id: p for p in await ref.product_kpis(room, window)}
            assert pa.keys() == pb.keys()
            for pid, p in pa.items():
                for name in p.kpis:
                    assert_close(p.kpis[name], pb[pid].kpis[name], name)
            assert await store.source_kpis(room, window) == await ref.source_kpis(room, window)
    assert await store.rooms() == await ref.rooms()
    assert await store.stream_clock_ms() == await ref.stream_clock_ms()


async def test_cluster_store_matches_memory_store(cclient, settings):
    store, ref = ClusterKpiStore(cclient, settings), InMemoryKpiStore(settings)
    evs = events()
    assert len(split_rooms_of(evs, settings)) == 6
    for i in range(0, len(evs), 300):
        d = delta(evs[i:i + 300], settings)
        for s in (store, ref):
            assert (await s.apply(d, {TP: i + 300}, "g", 1_000 + i,
                                  {TP: i if i else -1})).outcome is Outcome.APPLIED
    await same_kpis(store, ref)
    snap = await store.room_kpis("room-1", "broadcast")
    assert snap.kpis["repurchase_rate_30d"].value  # repeats found across rooms
    assert await store.load_offsets("g") == {TP: len(evs) - len(evs) % 300 + 300}
    # The exact same batch again: a replay, nothing written.
    d = delta(evs[-100:], settings)
    end = len(evs) - len(evs) % 300 + 300
    assert (await store.apply(d, {TP: end}, "g", 9, {TP: end - 300})).outcome is Outcome.REPLAY


def split_rooms_of(evs, settings):
    from streams.kpi.ops import build_ops
    store = InMemoryKpiStore(settings)
    return split_rooms(build_ops(delta(evs, settings), {TP: 1}, "g", 1, settings, store.keys))


@pytest.mark.parametrize(("at", "survive"), [("room", 0), ("room", 3), ("brand", 0),
                                             ("brand", 1), ("clock", 0), ("commit", 0)])
async def test_a_worker_dying_between_steps_leaves_the_kpis_exact(cclient, settings, at,
                                                                   survive):
    evs = events()
    ref = InMemoryKpiStore(settings)
    first, rest = delta(evs[:900], settings), delta(evs[900:], settings)
    assert await ref.apply(first, {TP: 900}, "g", 1, {TP: -1})
    assert await ref.apply(rest, {TP: len(evs)}, "g", 2, {TP: 900})
    dying = CrashingStore(cclient, settings, at=at, survive=survive)
    with pytest.raises(Crash):
        await dying.apply(first, {TP: 900}, "g", 1, {TP: -1})
    # Where the restarted worker resumes: nothing committed yet (the intent is not an offset).
    assert await dying.load_offsets("g") == {}
    # The restarted worker re-reads the same batch (same cut) and carries on.
    store = ClusterKpiStore(cclient, settings)
    assert (await store.apply(first, {TP: 900}, "g", 1, {TP: -1})).outcome is Outcome.APPLIED
    assert (await store.apply(rest, {TP: len(evs)}, "g", 2, {TP: 900})).outcome \
        is Outcome.APPLIED
    await same_kpis(store, ref)
    assert await store.load_offsets("g") == {TP: len(evs)}


async def test_a_batch_re_cut_differently_after_a_crash_is_cut_back(cclient, settings):
    """Died after the rooms of [0, 900); the restarted worker fetches [0, 1200): told to cut,
    it re-reads the partition in smaller pieces up to 900, then goes on. Exact throughout."""
    evs = events()
    ref = InMemoryKpiStore(settings)
    assert await ref.apply(delta(evs, settings), {TP: len(evs)}, "g", 2, {TP: -1})
    dying = CrashingStore(cclient, settings, at="brand", survive=0)
    with pytest.raises(Crash):
        await dying.apply(delta(evs[:900], settings), {TP: 900}, "g", 1, {TP: -1})
    store = ClusterKpiStore(cclient, settings)
    r = await store.apply(delta(evs[:1200], settings), {TP: 1200}, "g", 1, {TP: -1})
    assert r.outcome is Outcome.CUT and r.cuts() == {TP: 900}
    # With another partition in the batch, the pending one must go alone: cut again.
    other = delta([ev("enter", 5, room="room-9")], settings)
    r = await store.apply(other, {TP: 600, ("t.views", 1): 1}, "g", 1, {TP: -1,
                                                                     ("t.views", 1): -1})
    assert r.outcome is Outcome.CUT
    # Shorter pieces up to the cut: the rooms that applied [0, 900) skip them.
    for a, b in ((0, 500), (500, 900)):
        r = await store.apply(delta(evs[a:b], settings), {TP: b}, "g", 1, {TP: a if a else -1})
        assert r.outcome is Outcome.APPLIED
    r = await store.apply(delta(evs[900:], settings), {TP: len(evs)}, "g", 2, {TP: 900})
    assert r.outcome is Outcome.APPLIED
    await same_kpis(store, ref)
