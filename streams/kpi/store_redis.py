"""RedisKpiStore: one EVALSHA per batch (deltas + offsets, atomic), pipelined reads."""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from streams.kpi.apply_lua import APPLY_LUA
from streams.kpi.config import KpiSettings
from streams.kpi.store_base import KpiStoreBase


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else v


class RedisKpiStore(KpiStoreBase):
    """KPI state in one Redis (or valkey). Works with decode_responses on or off.

    The apply script touches keys of many rooms plus global keys, so it needs a single Redis
    node; on a Cluster, store_cluster.ClusterKpiStore applies in per-slot steps.
    """

    build_in_thread = True

    def __init__(self, redis: aioredis.Redis, settings: KpiSettings) -> None:
        super().__init__(settings)
        self.redis = redis
        # Coarse buckets expire after coarse_ttl_s: a window never reaches further back.
        self.max_lookback_ms = settings.coarse_ttl_s * 1000
        # redis-py sends EVALSHA and falls back to SCRIPT LOAD after a NOSCRIPT (e.g. a restart).
        self._apply_script = redis.register_script(APPLY_LUA)

    async def _apply_ops(self, ops: dict[str, Any]) -> Any:
        return await self._apply_script(keys=[], args=[orjson.dumps(ops)])

    async def _hgetall_many(self, keys: list[str]) -> list[dict[str, str]]:
        if not keys:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for k in keys:
            pipe.hgetall(k)
        return [{_s(f): _s(v) for f, v in h.items()} for h in await pipe.execute()]

    async def _hmget_many(self, keys: list[str], fields: list[str]) -> list[list[str | None]]:
        if not keys:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for k in keys:
            pipe.hmget(k, fields)
        return [[None if v is None else _s(v) for v in row] for row in await pipe.execute()]

    async def _pfcount_many(self, groups: list[list[str]]) -> list[int]:
        pipe = self.redis.pipeline(transaction=False)
        for g in groups:
            if g:
                # execute_command: redis-py's cluster pipeline refuses multi-key pfcount(),
                # and every key of one group is one room's, so one slot.
                pipe.execute_command("PFCOUNT", *g)
        results = iter(await pipe.execute() if any(groups) else [])
        return [int(next(results)) if g else 0 for g in groups]

    async def _smembers(self, key: str) -> set[str]:
        return {_s(m) for m in await self.redis.smembers(key)}

    async def _zrevrange(self, key: str, limit: int | None) -> list[str]:
        end = -1 if limit is None else max(0, limit - 1)
        if limit == 0:
            return []
        return [_s(m) for m in await self.redis.zrevrange(key, 0, end)]

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False
