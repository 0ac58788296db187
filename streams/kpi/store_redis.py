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


# Many reads in one command: redis-py spends ~10 us of CPU per pipelined command (packing,
# a timeout context, parsing), which at 1,000 rooms a second was a quarter of an alert tick;
# one script call per batch costs that once. The key names travel as one JSON argument, as the
# apply script's do (redis-py's asyncio client packs every argument in Python, ~1 us each, and
# a tick reads thousands of keys). Single node only: the keys are not declared in KEYS.
HGETALL_MANY_LUA = """
local keys = cjson.decode(ARGV[1])
local out = {}
for i = 1, #keys do out[i] = redis.call('HGETALL', keys[i]) end
return out
"""
# ARGV[1]: a JSON list of key groups; one PFCOUNT (the union's count) per group.
PFCOUNT_MANY_LUA = """
local groups = cjson.decode(ARGV[1])
local out = {}
for g = 1, #groups do
  local keys = groups[g]
  if #keys == 0 then out[g] = 0 else out[g] = redis.call('PFCOUNT', unpack(keys)) end
end
return out
"""
MAX_GROUP = 1000  # keys of one PFCOUNT group in a script (Lua's unpack has a stack limit)


def _decoded(flat: list[Any]) -> dict[str, str]:
    """A flat HGETALL reply as a dict of str: one C-level pass (the alert tick reads every
    room's state hash each second; a Python call per field was ~4 % of it)."""
    items = map(bytes.decode, flat) if flat and isinstance(flat[0], bytes) else iter(flat)
    return dict(zip(items, items, strict=True))


def _pairs(flat: list[Any]) -> dict[Any, Any]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


class RedisKpiStore(KpiStoreBase):
    """KPI state in one Redis (or valkey). Works with decode_responses on or off.

    The apply script touches keys of many rooms plus global keys, so it needs a single Redis
    node; on a Cluster, store_cluster.ClusterKpiStore applies in per-slot steps.
    """

    build_in_thread = True
    read_scripts = True  # many reads in one script (a Cluster cannot: keys of many slots)

    def __init__(self, redis: aioredis.Redis, settings: KpiSettings) -> None:
        super().__init__(settings)
        self.redis = redis
        # Coarse buckets expire after coarse_ttl_s: a window never reaches further back.
        self.max_lookback_ms = settings.coarse_ttl_s * 1000
        # redis-py sends EVALSHA and falls back to SCRIPT LOAD after a NOSCRIPT (e.g. a restart).
        self._apply_script = redis.register_script(APPLY_LUA)
        self._hgetall_script = redis.register_script(HGETALL_MANY_LUA)
        self._pfcount_script = redis.register_script(PFCOUNT_MANY_LUA)

    async def _apply_ops(self, ops: dict[str, Any]) -> Any:
        return await self._apply_script(keys=[], args=[orjson.dumps(ops)])

    async def _hgetall_many(self, keys: list[str]) -> list[dict[str, str]]:
        if self.read_scripts:
            return [_decoded(flat) for flat in await self.hgetall_flat(keys)]
        return [{_s(f): _s(v) for f, v in h.items()} for h in await self.hgetall_raw(keys)]

    async def hgetall_raw(self, keys: list[str]) -> list[dict[Any, Any]]:
        """Hashes as the client returns them (bytes unless decode_responses)."""
        if not keys:
            return []
        if self.read_scripts:
            return [_pairs(flat) for flat in await self._hgetall_script(
                keys=[], args=[orjson.dumps(keys)])]
        pipe = self.redis.pipeline(transaction=False)
        for k in keys:
            pipe.hgetall(k)
        raw: list[dict[Any, Any]] = await pipe.execute()
        return raw

    async def hgetall_flat(self, keys: list[str]) -> list[Any]:
        """As hgetall_raw, but the script's replies stay flat [field, value, ...] lists (the
        alert tick parses them straight into sums: streams.kpi.sums.parse_bucket)."""
        if not keys:
            return []
        if self.read_scripts:
            flat: list[Any] = await self._hgetall_script(keys=[], args=[orjson.dumps(keys)])
            return flat
        return await self.hgetall_raw(keys)

    async def _hmget_many(self, keys: list[str], fields: list[str]) -> list[list[str | None]]:
        if not keys:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for k in keys:
            pipe.hmget(k, fields)
        return [[None if v is None else _s(v) for v in row] for row in await pipe.execute()]

    async def _pfcount_many(self, groups: list[list[str]]) -> list[int]:
        if not any(groups):
            return [0] * len(groups)
        if self.read_scripts and max(map(len, groups)) <= MAX_GROUP:
            return [int(n) for n in await self._pfcount_script(
                keys=[], args=[orjson.dumps(groups)])]
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
