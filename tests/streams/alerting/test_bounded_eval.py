"""Alert evaluation over 2,000 rooms in a real valkey: a small Redis pool is never exhausted,
the time budget cuts the tick and the rooms left come first next time; health answers meanwhile."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from alerts.evaluator import Evaluator
from alerts.rules import RulePack
from alerts.targets import Targets
from streams.kpi.config import KpiSettings
from streams.kpi.roomread import RoomWindowReader
from streams.kpi.store_redis import RedisKpiStore
from streams.worker.api import WorkerApi
from streams.worker.apisettings import ApiSettings
from tests.streams.rooms import seed_rooms, serve

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
START = 1_767_240_000_000
MIN = 60_000
N = 2000
POOL = 6  # connections: fewer than the rooms read at once before this change (all of them)


@pytest.fixture(scope="module")
async def seeded(stack):
    """2,000 live rooms, 12 broadcast minutes each, seeded once for the module."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    r = aioredis.from_url(stack.redis_url)
    store = RedisKpiStore(r, KpiSettings(key_prefix=prefix))
    await seed_rooms(store, N, START, 12)
    await r.aclose()
    return stack.redis_url, prefix


@pytest.fixture
async def store(seeded):
    url, prefix = seeded
    r = aioredis.from_url(url, max_connections=POOL)
    yield RedisKpiStore(r, KpiSettings(key_prefix=prefix))
    await r.aclose()


def evaluator(store, registry, **kw) -> Evaluator:
    return Evaluator(RulePack.load(), Targets.load(), registry=registry,
                     batch=RoomWindowReader(store), **kw)


async def test_a_tick_honours_its_budget_and_the_rooms_left_come_first_next(store):
    reg = CollectorRegistry()
    ev = evaluator(store, reg, budget_s=0.05, concurrency=4, chunk=16)
    now = START + 12 * MIN
    await ev.evaluate(store, now)
    first = ev.last_tick
    assert first.live == N and first.failed == 0
    assert 0 < first.evaluated < N and first.evaluated + first.skipped == N
    get = reg.get_sample_value
    assert get("roompulse_alert_tick_rooms", {"outcome": "skipped"}) == first.skipped
    assert get("roompulse_alert_rooms_skipped_total") == first.skipped
    assert get("roompulse_alert_evaluation_overruns_total") == 1
    assert get("roompulse_alert_evaluation_errors_total", {"kind": "room"}) == 0
    # round-robin: the rooms left come first, so every room is evaluated within a few ticks
    seen = {r for r, n in ev._evaluated_at.items() if n == 1}
    await ev.evaluate(store, now + 1000)
    second = {r for r, n in ev._evaluated_at.items() if n == 2}
    assert second and not second & seen
    seen |= second
    ev.budget_s = 1.0
    ticks = 2
    while len(seen) < N and ticks < 400:
        await ev.evaluate(store, now + ticks * 1000)
        ticks += 1
        seen |= {r for r, n in ev._evaluated_at.items() if n == ticks}
        assert ev.last_tick.failed == 0  # never MaxConnectionsError with a 6-connection pool
    assert len(seen) == N
    assert get("roompulse_alert_rooms_evaluated_total") >= N


async def test_without_a_budget_every_room_is_read_through_a_small_pool(store):
    reg = CollectorRegistry()
    ev = evaluator(store, reg, concurrency=4, chunk=16)
    await ev.evaluate(store, START + 12 * MIN)
    assert ev.last_tick.evaluated == N and ev.last_tick.skipped == 0
    assert ev.last_tick.failed == 0
    assert reg.get_sample_value("roompulse_alert_evaluation_overruns_total") == 0


async def test_health_answers_while_an_evaluation_runs(store):
    ev = evaluator(store, CollectorRegistry(), concurrency=4, chunk=16)

    async def problems() -> list[str]:
        return []

    api = WorkerApi(store, ApiSettings(), registry=CollectorRegistry(), collector=None,
                    redis_errors=(OSError,), problems=problems)
    async with serve(api.routes()) as base, aiohttp.ClientSession() as http:
        task = asyncio.create_task(ev.evaluate(store, START + 12 * MIN))
        answered_during = 0
        while not task.done():
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200
                if not task.done():
                    answered_during += 1
        await task
    assert answered_during >= 3  # the evaluation yields: health checks are not queued behind it
