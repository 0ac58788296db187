"""A SilenceStore (alerts/silences.py protocol) in Redis, so every worker process shares silences."""

from __future__ import annotations

from typing import Any

from alerts.silences import Silence, wall_ms

KEEP_EXPIRED_MS = 24 * 3600 * 1000  # expired silences stay listable for a day, then go


class RedisSilenceStore:
    """One hash `<prefix>:silences`, silence id -> JSON. Silences are few (people make them), so
    a whole-hash read per evaluation is cheap."""

    def __init__(self, client: Any, *, prefix: str = "rp") -> None:
        self._r = client  # a redis.asyncio.Redis
        self.key = f"{prefix}:silences"

    async def add(self, silence: Silence) -> Silence:
        await self._r.hset(self.key, silence.id, silence.model_dump_json())
        await self._prune(silence.starts_at)
        return silence

    async def _all(self) -> list[Silence]:
        docs = await self._r.hvals(self.key)
        return sorted((Silence.model_validate_json(d) for d in docs), key=lambda s: s.starts_at)

    async def list(self, *, active_at: int | None = None) -> list[Silence]:
        items = await self._all()
        return [s for s in items if active_at is None or s.active(active_at)]

    async def expire(self, silence_id: str, now_ms: int | None = None) -> bool:
        doc = await self._r.hget(self.key, silence_id)
        now = wall_ms() if now_ms is None else now_ms
        if doc is None:
            return False
        s = Silence.model_validate_json(doc)
        if s.ends_at <= now:
            return False
        ended = s.model_copy(update={"ends_at": max(now, s.starts_at + 1)})
        await self._r.hset(self.key, silence_id, ended.model_dump_json())
        return True

    async def _prune(self, now_ms: int) -> None:
        old = [s.id for s in await self._all() if s.ends_at < now_ms - KEEP_EXPIRED_MS]
        if old:
            await self._r.hdel(self.key, *old)
