"""first:N and broadcast windows cover exactly the broadcast's own time, whatever its start
(issue 10: a start 4 min past a 5-minute boundary read [start - 4 min, start + 31 min))."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_memory import InMemoryKpiStore
from streams.kpi.store_redis import RedisKpiStore
from tests.streams.kpi.factory import MIN, T0, ev

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
TP = ("t.views", 0)


@pytest.fixture
async def client(stack):
    r = aioredis.from_url(stack.redis_url)
    yield r
    await r.aclose()


def broadcast(start: int, end: int):
    """One entry every 10 s by a new user from 10 min before the start to 10 min after the
    end; broadcast_start first, broadcast_end last (as producers send them)."""
    events = [ev("broadcast_start", start, user=None)]
    events += [ev("enter", t, user=f"u{t}", source="recommend")
               for t in range(start - 10 * MIN - start % 10_000, end + 10 * MIN, 10_000)]
    events.append(ev("broadcast_end", end, user=None))
    return events


async def apply(stores, events, settings) -> None:
    for i in range(0, len(events), 500):
        folder = BatchFolder(settings)
        for e in events[i:i + 500]:
            folder.add(e)
        delta = folder.take()
        for s in stores:
            assert await s.apply(delta, {TP: i + 500}, "g", 1_000 + i)


@pytest.mark.parametrize("offset_ms", [4 * MIN + 3_000, 7_000, 2 * MIN + 51_000])
async def test_first_30m_and_broadcast_count_exactly_the_broadcasts_own_entries(
        client, offset_ms):
    settings = KpiSettings(key_prefix=f"t{uuid.uuid4().hex[:10]}")
    red, mem = RedisKpiStore(client, settings), InMemoryKpiStore(settings)
    start = offset_ms  # T0 is a 5-minute boundary: none of these starts is aligned
    end = start + 97 * MIN + 4_000
    events = broadcast(start, end)
    await apply((red, mem), events, settings)
    now = T0 + end + 3 * 3_600_000  # hours later: the head is far past the fine horizon

    def truth(lo: int, hi: int) -> int:
        """Entries in [lo, hi) widened to whole 10 s buckets (the resolution the issue asks)."""
        lo, hi = lo - lo % 10_000, hi + (-hi) % 10_000
        return sum(1 for e in events if e.type == "enter" and T0 + lo <= e.ts < T0 + hi)

    first = await red.room_kpis("r1", "first:30m", now_ms=now)
    assert first.kpis["entries"].value == truth(start, start + 30 * MIN)
    assert (first.info.start_ms, first.info.end_ms) == (
        T0 + start - start % 10_000, T0 + start + 30 * MIN + (-(start + 30 * MIN)) % 10_000)
    whole = await red.room_kpis("r1", "broadcast", now_ms=now)
    assert whole.kpis["entries"].value == truth(start, end + 1)
    assert whole.kpis["uv"].value == pytest.approx(truth(start, end + 1), rel=0.03)  # HLL
    for window in ("first:30m", "broadcast"):
        assert (await mem.room_kpis("r1", window, now_ms=now)).kpis["entries"].value == \
            (await red.room_kpis("r1", window, now_ms=now)).kpis["entries"].value


async def test_the_fine_buckets_at_a_broadcasts_edges_outlive_the_others(client):
    settings = KpiSettings(key_prefix=f"t{uuid.uuid4().hex[:10]}")
    red = RedisKpiStore(client, settings)
    start = 4 * MIN + 3_000
    end = start + 50 * MIN
    await apply((red,), broadcast(start, end), settings)
    keys = red.keys
    head = keys.bucket("r1", "f", T0 + start - start % 10_000)
    edge = keys.bucket("r1", "f", T0 + 34 * MIN)  # start + 30 min lies in [30, 35) min
    tail = keys.bucket("r1", "f", T0 + end - end % 10_000)  # learnt after its buckets
    middle = keys.bucket("r1", "f", T0 + 20 * MIN)
    long, short = settings.coarse_ttl_s, settings.bucket_ttl_s
    for k in (head, edge, tail):
        assert long - 60 < await client.ttl(k) <= long, k
    assert 0 < await client.ttl(middle) <= short
    hll = keys.hll("r1", "f", T0 + end - end % 10_000, "uv")
    assert long - 60 < await client.ttl(hll) <= long
