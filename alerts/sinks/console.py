"""The control-room feed sink: alerts and acknowledgements kept in Redis, so every process serves
one feed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from redis.exceptions import RedisError

from alerts import clock
from alerts.model import Alert, AlertState
from alerts.sinks.errors import DeliveryError
from alerts.sinks.feedkeys import FeedKeys

FEED_MAXLEN = 1000
ACK_TTL_S = 7 * 24 * 3600

# Sending is one script, not MULTI/EXEC, so one node and a Redis Cluster run the same code (both
# keys share the feed's slot, see feedkeys.py). redis-py's asyncio cluster MULTI queues each
# command through asyncio.run in a thread of its own and, as a fresh client's first command,
# initialises the client on that thread's loop, which breaks it ("Event loop is closed", seen
# with redis-py 8.1). Like the transaction it replaces, nobody sees the current-alerts hash and
# the feed disagree. ARGV: maxlen, then per alert fingerprint, alert JSON ('' = not firing any
# more), feed entry.
SEND_LUA = """
for i = 2, #ARGV, 3 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i + 2])
end
return (#ARGV - 1) / 3
"""


@dataclass(frozen=True)
class Ack:
    """Who acknowledged one firing episode (fingerprint + starts_at) of an alert, and when."""

    fingerprint: str
    starts_at: int
    by: str
    at_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "starts_at": self.starts_at,
                "by": self.by, "at_ms": self.at_ms}


@dataclass(frozen=True)
class FeedEvent:
    """One entry of the feed: `kind` is alert, ack or silence; `id` orders entries (a Redis
    stream id)."""

    id: str
    kind: str
    data: dict[str, Any]


class AlertFeed(Protocol):
    """What the console reads and writes; ConsoleFeed (Redis) and MemoryConsoleFeed implement it."""

    name: str

    async def send(self, alerts: Sequence[Alert]) -> None: ...
    async def recent(self, limit: int = 100) -> list[FeedEvent]: ...
    async def current(self) -> list[Alert]: ...
    async def ack(self, fingerprint: str, by: str, now_ms: int | None = None) -> Ack | None: ...
    async def acks(self, episodes: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Ack]: ...
    async def announce(self, kind: str, data: dict[str, Any]) -> str: ...
    async def follow(self, last_id: str, block_ms: int) -> list[FeedEvent]: ...
    async def last_id(self) -> str: ...


def _alert_event(alert: Alert) -> dict[str, Any]:
    return {"kind": "alert", "alert": alert.model_dump(mode="json")}


def _decode(entry_id: bytes | str, fields: dict[Any, Any]) -> FeedEvent:
    raw = fields.get(b"e") or fields.get("e") or b"{}"
    body = orjson.loads(raw)
    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return FeedEvent(eid, body.pop("kind", "alert"), body)


class ConsoleFeed:
    """A Sink over Redis: a capped stream of feed entries (XADD MAXLEN ~), a hash of firing alerts
    by fingerprint, and one expiring key per acknowledged episode (names: feedkeys.py)."""

    name = "console"

    def __init__(self, client: Any, *, prefix: str = "rp:console",
                 maxlen: int = FEED_MAXLEN) -> None:
        self._r = client  # a redis.asyncio.Redis or RedisCluster
        self.keys = FeedKeys(prefix)
        self.stream = self.keys.stream
        self._maxlen = maxlen
        self._send: Any = None  # the registered SEND_LUA, made on first use

    async def send(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        if self._send is None:
            self._send = self._r.register_script(SEND_LUA)
        args: list[Any] = [self._maxlen]
        for alert in alerts:
            firing = alert.state is AlertState.firing
            args += [alert.fingerprint,
                     orjson.dumps(alert.model_dump(mode="json")) if firing else b"",
                     orjson.dumps(_alert_event(alert))]
        try:
            await self._send(keys=[self.keys.current, self.stream], args=args)
        except (RedisError, OSError) as exc:
            raise DeliveryError(f"console: redis {type(exc).__name__}", retryable=True) from None

    async def recent(self, limit: int = 100) -> list[FeedEvent]:
        """Newest first."""
        rows = await self._r.xrevrange(self.stream, count=limit)
        return [_decode(i, f) for i, f in rows]

    async def current(self) -> list[Alert]:
        """Alerts firing now, newest start first."""
        docs = await self._r.hvals(self.keys.current)
        alerts = [Alert.model_validate_json(d) for d in docs]
        return sorted(alerts, key=lambda a: a.starts_at, reverse=True)

    async def ack(self, fingerprint: str, by: str, now_ms: int | None = None) -> Ack | None:
        """Acknowledge the firing episode of `fingerprint`; None when it is not firing."""
        doc = await self._r.hget(self.keys.current, fingerprint)
        if doc is None:
            return None
        alert = Alert.model_validate_json(doc)
        at = now_ms if now_ms is not None else clock.now_ms()
        ack = Ack(fingerprint, alert.starts_at, by, at)
        payload = orjson.dumps(ack.to_dict())
        # NX: the first acknowledgement of an episode is the one that counts. (The read above
        # is a separate command, as it always was: an alert resolving in between keeps an ack
        # of its ended episode, which nothing reads.)
        stored = await self._r.set(self.keys.ack(fingerprint, alert.starts_at), payload,
                                   ex=ACK_TTL_S, nx=True)
        if not stored:
            prev = await self._r.get(self.keys.ack(fingerprint, alert.starts_at))
            return Ack(**orjson.loads(prev)) if prev else ack
        await self.announce("ack", ack.to_dict())
        return ack

    async def acks(self, episodes: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Ack]:
        episodes = list(dict.fromkeys(episodes))
        if not episodes:
            return {}
        # One MGET on a Cluster too: every ack key carries the feed's hash tag.
        docs = await self._r.mget([self.keys.ack(fp, s) for fp, s in episodes])
        return {ep: Ack(**orjson.loads(d)) for ep, d in zip(episodes, docs, strict=True) if d}

    async def announce(self, kind: str, data: dict[str, Any]) -> str:
        """Append a non-alert entry (ack, silence) so that every open console sees it live."""
        eid = await self._r.xadd(self.stream, {"e": orjson.dumps({"kind": kind, **data})},
                                 maxlen=self._maxlen, approximate=True)
        return eid.decode() if isinstance(eid, bytes) else eid

    async def last_id(self) -> str:
        rows = await self._r.xrevrange(self.stream, count=1)
        if not rows:
            return "0-0"
        eid = rows[0][0]
        return eid.decode() if isinstance(eid, bytes) else eid

    async def follow(self, last_id: str, block_ms: int) -> list[FeedEvent]:
        """Entries after `last_id`, oldest first, waiting up to `block_ms` for the first one."""
        res = await self._r.xread({self.stream: last_id}, block=block_ms, count=100)
        return [_decode(i, f) for _, rows in res or [] for i, f in rows]


class MemoryConsoleFeed:
    """The same feed in one process's memory, for unit tests and single-process demos."""

    name = "console"

    def __init__(self, maxlen: int = FEED_MAXLEN) -> None:
        self._entries: list[FeedEvent] = []
        self._current: dict[str, Alert] = {}
        self._acks: dict[tuple[str, int], Ack] = {}
        self._maxlen = maxlen
        self._seq = 0
        self._last_ms = 0
        self._cond = asyncio.Condition()

    async def _append(self, kind: str, data: dict[str, Any]) -> str:
        self._seq += 1
        # ids must only grow, like a Redis stream's
        self._last_ms = max(self._last_ms, clock.now_ms())
        event = FeedEvent(f"{self._last_ms}-{self._seq}", kind, data)
        async with self._cond:
            self._entries.append(event)
            del self._entries[:-self._maxlen]
            self._cond.notify_all()
        return event.id

    async def send(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            if alert.state is AlertState.firing:
                self._current[alert.fingerprint] = alert
            else:
                self._current.pop(alert.fingerprint, None)
            await self._append("alert", {"alert": alert.model_dump(mode="json")})

    async def recent(self, limit: int = 100) -> list[FeedEvent]:
        return list(reversed(self._entries[-limit:]))

    async def current(self) -> list[Alert]:
        return sorted(self._current.values(), key=lambda a: a.starts_at, reverse=True)

    async def ack(self, fingerprint: str, by: str, now_ms: int | None = None) -> Ack | None:
        alert = self._current.get(fingerprint)
        if alert is None:
            return None
        key = (fingerprint, alert.starts_at)
        if key not in self._acks:
            self._acks[key] = Ack(fingerprint, alert.starts_at, by,
                                  now_ms if now_ms is not None else clock.now_ms())
            await self._append("ack", self._acks[key].to_dict())
        return self._acks[key]

    async def acks(self, episodes: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Ack]:
        return {ep: self._acks[ep] for ep in episodes if ep in self._acks}

    async def announce(self, kind: str, data: dict[str, Any]) -> str:
        return await self._append(kind, data)

    async def last_id(self) -> str:
        return self._entries[-1].id if self._entries else "0-0"

    def _after(self, last_id: str) -> list[FeedEvent]:
        key = _id_key(last_id)
        return [e for e in self._entries if _id_key(e.id) > key]

    async def follow(self, last_id: str, block_ms: int) -> list[FeedEvent]:
        async with self._cond:
            if not self._after(last_id):
                try:
                    await asyncio.wait_for(
                        self._cond.wait_for(lambda: bool(self._after(last_id))), block_ms / 1000
                    )
                except TimeoutError:
                    return []
            return self._after(last_id)


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return 0, 0
