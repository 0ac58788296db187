"""Redis-backed alert state: lifecycle series, the notification log and silences."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis
from redis.typing import EncodableT

from alerts import clock
from alerts.lifecycle import Series
from alerts.notifylog import Entry
from alerts.silences import Silence, ended
from streams.alerting.keys import DEFAULT_PREFIX, AlertKeys

KEEP_EXPIRED_MS = 7 * 86_400_000  # expired silences stay listable this long

# Upserts and deletes of one evaluation land together, so a restart never loads half of it. One
# script on the one series hash rather than MULTI/EXEC, so one node and a Redis Cluster run the
# same code (why not redis-py's cluster MULTI: alerts/sinks/feedscripts.py, SEND_LUA). ARGV: the
# number of upserted fields n, then n field/value pairs, then the fields to delete. Chunks of
# 500 fields keep unpack() far below Lua's stack limit.
SAVE_LUA = """
local n = tonumber(ARGV[1])
local i, last = 2, 1 + 2 * n
while i <= last do
  local j = math.min(i + 999, last)
  redis.call('HSET', KEYS[1], unpack(ARGV, i, j))
  i = j + 1
end
while i <= #ARGV do
  local j = math.min(i + 499, #ARGV)
  redis.call('HDEL', KEYS[1], unpack(ARGV, i, j))
  i = j + 1
end
return n
"""


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


class RedisSeriesStore:
    """One hash: fingerprint -> Series JSON."""

    def __init__(self, redis: aioredis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis, self.key = redis, AlertKeys(prefix).series
        self._save: Any = None  # the registered SAVE_LUA, made on first use

    async def load(self) -> dict[str, Series]:
        raw = await self.redis.hgetall(self.key)
        return {_s(k): Series.model_validate_json(v) for k, v in raw.items()}

    async def save(self, upserts: Iterable[Series], deletes: Iterable[str]) -> None:
        mapping = {s.fingerprint: s.model_dump_json() for s in upserts}
        deletes = list(deletes)
        if not mapping and not deletes:
            return
        args: list[EncodableT] = [len(mapping)]
        for field, doc in mapping.items():
            args += [field, doc]
        args += deletes
        if self._save is None:
            self._save = self.redis.register_script(SAVE_LUA)
        await self._save(keys=[self.key], args=args)


class RedisNotificationLog:
    """One hash: receiver:fingerprint -> what was last sent and when."""

    def __init__(self, redis: aioredis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis, self.key = redis, AlertKeys(prefix).notified

    async def get(self, keys: Iterable[str]) -> dict[str, Entry]:
        keys = list(keys)
        if not keys:
            return {}
        values = await self.redis.hmget(self.key, keys)
        return {k: Entry.model_validate_json(v) for k, v in zip(keys, values, strict=True)
                if v is not None}

    async def put(self, entries: dict[str, Entry]) -> None:
        if entries:
            await self.redis.hset(self.key, mapping={k: e.model_dump_json()
                                                     for k, e in entries.items()})

    async def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            await self.redis.hdel(self.key, *keys)


class RedisSilenceStore:
    """One hash: silence id -> Silence JSON; silences long expired are dropped on listing."""

    def __init__(self, redis: aioredis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis, self.key = redis, AlertKeys(prefix).silences

    async def add(self, silence: Silence) -> Silence:
        await self.redis.hset(self.key, silence.id, silence.model_dump_json())
        return silence

    async def list(self, *, active_at: int | None = None) -> list[Silence]:
        raw = await self.redis.hgetall(self.key)
        items = [Silence.model_validate_json(v) for v in raw.values()]
        stale = [s.id for s in items if s.ends_at < clock.now_ms() - KEEP_EXPIRED_MS]
        if stale:
            await self.redis.hdel(self.key, *stale)
        items = sorted((s for s in items if s.id not in stale), key=lambda s: s.starts_at)
        return [s for s in items if active_at is None or s.active(active_at)]

    async def expire(self, silence_id: str, now_ms: int | None = None) -> bool:
        raw = await self.redis.hget(self.key, silence_id)
        now = clock.now_ms() if now_ms is None else now_ms
        if raw is None:
            return False
        s = Silence.model_validate_json(raw)
        if s.ends_at <= now:
            return False
        await self.redis.hset(self.key, silence_id, ended(s, now).model_dump_json())
        return True
