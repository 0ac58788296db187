"""The control-room feed sink: alerts and acknowledgements kept in Redis, so every process serves
one feed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from prometheus_client import CollectorRegistry
from redis.exceptions import RedisError

from alerts import clock
from alerts.model import Alert, AlertState
from alerts.sinks.errors import DeliveryError
from alerts.sinks.feedkeys import FeedKeys
from alerts.sinks.feedscripts import ACK_LUA, SEND_LUA
from alerts.sinks.roomlog import (
    READ_COUNT,
    ROOM_LOG_MAXLEN,
    ROOM_LOG_TTL_S,
    MemoryRoomLogs,
    ack_log_entry,
    id_key,
    trimmed_counter,
)

FEED_MAXLEN = 1000
ACK_TTL_S = 7 * 24 * 3600


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
    async def room_log(self, room_id: str, last_id: str) -> list[FeedEvent]: ...


def _alert_event(alert: Alert) -> dict[str, Any]:
    return {"kind": "alert", "alert": alert.model_dump(mode="json")}


def _decode(entry_id: bytes | str, fields: dict[Any, Any]) -> FeedEvent:
    raw = fields.get(b"e") or fields.get("e") or b"{}"
    body = orjson.loads(raw)
    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return FeedEvent(eid, body.pop("kind", "alert"), body)


class ConsoleFeed:
    """A Sink over Redis: a capped stream of feed entries (XADD MAXLEN ~), a hash of firing alerts
    by fingerprint, one expiring key per acknowledged episode, and each room's alert log
    (roomlog.py; names: feedkeys.py)."""

    name = "console"

    def __init__(self, client: Any, *, prefix: str = "rp:console", maxlen: int = FEED_MAXLEN,
                 log_maxlen: int = ROOM_LOG_MAXLEN, log_ttl_s: int = ROOM_LOG_TTL_S,
                 registry: CollectorRegistry | None = None) -> None:
        self._r = client  # a redis.asyncio.Redis or RedisCluster
        self.keys = FeedKeys(prefix)
        self.stream = self.keys.stream
        self._maxlen = maxlen
        self._log = (log_maxlen, log_ttl_s * 1000)
        self.trimmed = trimmed_counter(registry if registry is not None else CollectorRegistry())
        self._scripts: dict[str, Any] = {}  # the registered scripts, made on first use

    def _script(self, lua: str) -> Any:
        if lua not in self._scripts:
            self._scripts[lua] = self._r.register_script(lua)
        return self._scripts[lua]

    async def send(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        keys = [self.keys.current, self.stream]
        index: dict[str, int] = {}  # a room's log -> its place in KEYS (Lua counts from 1)
        args: list[Any] = [self._maxlen, *self._log]
        for alert in alerts:
            firing = alert.state is AlertState.firing
            log = self.keys.log(alert.room_id)
            if log not in index:
                keys.append(log)
                index[log] = len(keys)
            args += [alert.fingerprint,
                     orjson.dumps(alert.model_dump(mode="json")) if firing else b"",
                     orjson.dumps(_alert_event(alert)), index[log]]
        try:
            trimmed = await self._script(SEND_LUA)(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise DeliveryError(f"console: redis {type(exc).__name__}", retryable=True) from None
        self.trimmed.inc(int(trimmed))

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
        # NX: the first acknowledgement of an episode is the one that counts; it and its feed
        # and log entries are one script. (The read above is a separate command, as it always
        # was: an alert resolving in between keeps an ack of its ended episode.)
        keys = [self.keys.ack(fingerprint, alert.starts_at), self.stream,
                self.keys.log(alert.room_id)]
        args = [orjson.dumps(ack.to_dict()), ACK_TTL_S,
                orjson.dumps({"kind": "ack", **ack.to_dict()}),
                orjson.dumps(ack_log_entry(ack.to_dict(), alert)), self._maxlen, *self._log]
        stored, got = (await self._script(ACK_LUA)(keys=keys, args=args) + [None])[:2]
        if not stored:
            return Ack(**orjson.loads(got)) if got else ack
        self.trimmed.inc(int(got))
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

    async def room_log(self, room_id: str, last_id: str) -> list[FeedEvent]:
        """The room's log entries after `last_id` ("0-0": from its oldest), oldest first, at
        most READ_COUNT (read again from the last one for more)."""
        rows = await self._r.xrange(self.keys.log(room_id), min=f"({last_id}", count=READ_COUNT)
        return [_decode(i, f) for i, f in rows]


class MemoryConsoleFeed:
    """The same feed in one process's memory, for unit tests and single-process demos."""

    name = "console"

    def __init__(self, maxlen: int = FEED_MAXLEN, log_maxlen: int = ROOM_LOG_MAXLEN,
                 registry: CollectorRegistry | None = None) -> None:
        self._entries: list[FeedEvent] = []
        self.trimmed = trimmed_counter(registry if registry is not None else CollectorRegistry())
        self._logs = MemoryRoomLogs(log_maxlen, self.trimmed)
        self._current: dict[str, Alert] = {}
        self._acks: dict[tuple[str, int], Ack] = {}
        self._maxlen = maxlen
        self._seq = 0
        self._last_ms = 0
        self._cond = asyncio.Condition()

    async def _append(self, kind: str, data: dict[str, Any],
                      log: tuple[str, dict[str, Any]] | None = None) -> str:
        """A feed entry, and (log = (room, entry)) the room's log entry with it."""
        self._seq += 1
        # ids must only grow, like a Redis stream's
        self._last_ms = max(self._last_ms, clock.now_ms())
        event = FeedEvent(f"{self._last_ms}-{self._seq}", kind, data)
        async with self._cond:
            self._entries.append(event)
            del self._entries[:-self._maxlen]
            if log is not None:
                self._logs.add(log[0], FeedEvent(event.id, kind, log[1]))
            self._cond.notify_all()
        return event.id

    async def send(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            if alert.state is AlertState.firing:
                self._current[alert.fingerprint] = alert
            else:
                self._current.pop(alert.fingerprint, None)
            data = {"alert": alert.model_dump(mode="json")}
            await self._append("alert", data, (alert.room_id, data))

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
            data = self._acks[key].to_dict()
            logged = ack_log_entry(data, alert)
            del logged["kind"]  # a FeedEvent's kind is apart from its data
            await self._append("ack", data, (alert.room_id, logged))
        return self._acks[key]

    async def acks(self, episodes: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Ack]:
        return {ep: self._acks[ep] for ep in episodes if ep in self._acks}

    async def announce(self, kind: str, data: dict[str, Any]) -> str:
        return await self._append(kind, data)

    async def last_id(self) -> str:
        return self._entries[-1].id if self._entries else "0-0"

    async def room_log(self, room_id: str, last_id: str) -> list[FeedEvent]:
        return self._logs.after(room_id, last_id, READ_COUNT)

    def _after(self, last_id: str) -> list[FeedEvent]:
        key = id_key(last_id)
        return [e for e in self._entries if id_key(e.id) > key]

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
