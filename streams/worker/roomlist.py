"""GET /api/rooms: one page of rooms, filtered, from a listing read at most once per TTL.

Reading every room's state costs one Redis read per room; under load (a dashboard polling,
thousands of rooms) that must not happen per request. The listing is shared: at most one read
per TTL, in the background once a first listing exists, and a request only filters and slices.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from alerts.logthrottle import THROTTLE, exc_kind
from schemas.kpis import RoomState

log = logging.getLogger(__name__)

ALERT_STATES = ("firing", "pending", "none")
FILTERS = ("brand", "stage", "phase", "alert")


class RoomIndex:
    def __init__(self, read: Callable[[], Awaitable[list[RoomState]]], ttl_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read, self.ttl_s, self._clock = read, ttl_s, clock
        self._rooms: list[RoomState] = []
        self._ids: list[str] = []
        self._at: float | None = None
        self._ttl = ttl_s
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self.failures = 0

    async def rooms(self) -> tuple[list[RoomState], list[str]]:
        """Rooms sorted by id (and the ids, for bisecting a cursor). Once a listing exists, no
        request waits for the next one: an expired listing is served while one background task
        reads the new one (stale by at most one listing's time)."""
        if self._at is None:
            async with self._lock:  # the first listing: every request waits for the same read
                if self._at is None:
                    await self._refresh()
        elif self._clock() - self._at >= self._ttl and (self._task is None
                                                         or self._task.done()):
            self._task = asyncio.create_task(self._refresh_quietly())
        return self._rooms, self._ids

    async def _refresh(self) -> None:
        started = self._clock()
        rooms = sorted(await self._read(), key=lambda s: s.room_id)
        self._rooms, self._ids = rooms, [r.room_id for r in rooms]
        self._at = self._clock()
        # A listing that takes long (20,000 rooms) is kept longer: listing never takes more
        # than a fifth of the time, whatever the request rate.
        self._ttl = max(self.ttl_s, 5 * (self._at - started))

    async def _refresh_quietly(self) -> None:
        try:
            await self._refresh()
        except Exception as exc:  # noqa: BLE001 - keep serving the last listing; said in logs
            self.failures += 1
            THROTTLE.warning(log, ("room-listing", exc_kind(exc)),
                             "room listing not refreshed: %s", exc_kind(exc))

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def encode_cursor(room_id: str) -> str:
    return base64.urlsafe_b64encode(room_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        room = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                                validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        room = ""
    if not room:
        raise ValueError("cursor: not a cursor this API returned")
    return room


def parse_query(q: Mapping[str, str], page_max: int) -> dict[str, Any]:
    """limit, cursor/offset and filters from a query string; ValueError names the field."""
    try:
        limit = int(q.get("limit", min(100, page_max)))
        offset = int(q.get("offset", 0))
    except ValueError:
        raise ValueError("limit and offset are whole numbers") from None
    if not 1 <= limit <= page_max:
        raise ValueError(f"limit: from 1 to {page_max}")
    if offset < 0:
        raise ValueError("offset: 0 or more")
    if "cursor" in q and "offset" in q:
        raise ValueError("give cursor or offset, not both")
    out: dict[str, Any] = {"limit": limit, "offset": offset,
                           "after": decode_cursor(q["cursor"]) if "cursor" in q else None}
    for name in FILTERS:
        value = q.get(name)
        if value is not None and (not value or len(value) > 200):
            raise ValueError(f"{name}: 1 to 200 characters")
        out[name] = value
    if out["alert"] is not None and out["alert"] not in ALERT_STATES:
        raise ValueError(f"alert: one of {', '.join(ALERT_STATES)}")
    return out


def page(rooms: list[RoomState], ids: list[str], query: dict[str, Any],
         alert_of: Mapping[str, str]) -> dict[str, Any]:
    """One page: rooms after the cursor (or from the offset) that pass every filter."""
    start = bisect.bisect_right(ids, query["after"]) if query["after"] is not None \
        else query["offset"]
    brand, stage, phase, alert = (query[k] for k in FILTERS)
    limit = query["limit"]
    out: list[dict[str, Any]] = []
    i = start
    while i < len(rooms) and len(out) < limit:
        s = rooms[i]
        i += 1
        state = alert_of.get(s.room_id, "none")
        if (brand is not None and s.brand_id != brand) or (stage is not None and s.stage != stage) \
                or (phase is not None and s.phase != phase) \
                or (alert is not None and state != alert):
            continue
        out.append({**s.model_dump(mode="json"), "alert_state": state})
    more = i < len(rooms)
    return {"rooms": out, "limit": limit,
            "next_cursor": encode_cursor(rooms[i - 1].room_id) if more else None}
