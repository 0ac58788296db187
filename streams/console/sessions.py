"""Server-side revocation of console sessions, so that logging out really ends a session.

Session cookies are signed and stateless (any worker process can check them), so logging out
used to delete only the browser's copy: a copied cookie stayed valid for the whole session
lifetime. On logout the session's nonce is now recorded as revoked until the session would have
expired anyway; every request under the console's API checks that list."""

from __future__ import annotations

import time
from typing import Any, Protocol

from streams.console.auth import Session


class Revocations(Protocol):
    async def revoke(self, session: Session) -> None: ...

    async def revoked(self, session: Session) -> bool: ...


class MemoryRevocations:
    """Revoked nonces in this process (tests, single-process demos; workers use Redis).
    Bounded: an entry leaves when its session would have expired anyway; beyond `max_entries`
    the soonest-expiring entries are forgotten first."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._until: dict[str, int] = {}

    async def revoke(self, session: Session) -> None:
        now = time.time()
        if len(self._until) >= self.max_entries:
            self._until = {n: e for n, e in self._until.items() if e >= now}
            while len(self._until) >= self.max_entries:
                del self._until[min(self._until, key=self._until.__getitem__)]
        self._until[session.nonce] = session.expires

    async def revoked(self, session: Session) -> bool:
        return session.nonce in self._until

    def __len__(self) -> int:
        return len(self._until)


class RedisRevocations:
    """One key per revoked session, `<prefix>:revoked:<nonce>`, expiring with the session: every
    worker process serving the console sees a logout at once, and nothing needs pruning."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self._r = redis  # a redis.asyncio.Redis
        self._prefix = f"{prefix}:revoked:"

    async def revoke(self, session: Session) -> None:
        ttl = max(1, session.expires - int(time.time()) + 1)
        await self._r.set(self._prefix + session.nonce, b"1", ex=ttl)

    async def revoked(self, session: Session) -> bool:
        return bool(await self._r.exists(self._prefix + session.nonce))
