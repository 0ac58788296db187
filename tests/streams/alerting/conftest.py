"""The seeded rooms the alert-read process tests (test_evalproc, test_shards) read: 30 rooms of
40 minutes in a real valkey, once per test module, each under its own key prefix. A module that
seeds its own (test_bounded_eval) defines `seeded` and `store` itself, which take precedence."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from streams.kpi.config import KpiSettings
from streams.kpi.store_redis import RedisKpiStore
from tests.streams.alerting.readcheck import ROOMS, START
from tests.streams.rooms import seed_rooms


@pytest.fixture(scope="module")
async def seeded(stack):
    prefix = f"ep{uuid.uuid4().hex[:8]}"
    r = aioredis.from_url(stack.redis_url)
    await seed_rooms(RedisKpiStore(r, KpiSettings(key_prefix=prefix)), ROOMS, START, 40,
                     per_minute=10)
    await r.aclose()
    return prefix


@pytest.fixture
async def store(stack, seeded):
    r = aioredis.from_url(stack.redis_url)
    yield RedisKpiStore(r, KpiSettings(key_prefix=seeded))
    await r.aclose()
