"""HistoryBaselines over the history store: a room KPI at the same broadcast minute of the
room's earlier broadcasts, for the `history` alert rule kind (alerts.history).

`same_minute(room, kpi, window, minute, last)` reads the room's newest `last` finished
broadcasts (a summary with an end) that ran through broadcast minute `minute`, and in each the
minute rows the window covers (streams.history.minute_kpis); a broadcast with a row missing
there (history was not written then) is passed over for an older one rather than read as
zeros, and one whose rate has no denominator there gives no value. Newest first.

Database calls run on one dedicated thread with this reader's own connection, as the history
writer and the report API do theirs: the event loop never waits on the database. A failed or
slow read raises HistoryError, which the evaluator counts as that rule failing on that room:
its series keep their state (an outage neither fires nor resolves anything), and reads then
back off for a while instead of queueing every room behind a dead database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from streams.history.db import HistoryError
from streams.history.minute_kpis import computable, kpi_of_rows, minute_span
from streams.history.settings import HistorySettings
from streams.history.snapshot import MINUTE_MS
from streams.history.store import HistoryStore

log = logging.getLogger(__name__)
# An entry serves the evaluations of the minute it names (one a second for 60 s), so a few
# minutes of life are plenty; expiring it means a broadcast that finished since is counted the
# next time the room reaches that minute (past broadcasts never change, but which ones are
# the room's last N does).
CACHE_TTL_S = 300.0
# (room, kpi, window, minute, last) entries: 20,000 cover 5,000 live rooms with four history
# rules each at their current minute; older minutes are never asked for again, so the least
# recently used go first. Each entry is a list of at most 50 floats.
CACHE_MAX = 20_000
READ_TIMEOUT_S = 2.0  # one read; the alert tick (1 s) must not hang on a stuck database
BACKOFF_S = 30.0  # after a failure, reads fail at once for this long, then try again

Key = tuple[str, str, str, int, int]


def past_minutes(store: HistoryStore, room_id: str, minute: int, first: int, last_row: int,
                 n: int) -> list[list[dict[str, Any]]]:
    """Rows first..last_row (broadcast minutes) of the room's newest `n` finished broadcasts
    that ran through minute `minute` and have all of those rows, newest first. One missing a
    row is passed over for an older one (among twice `n` candidates: a bounded read)."""
    listed = store.db.query(
        "SELECT broadcast_id, start_ms FROM roompulse_broadcasts WHERE room_id = ? "
        "AND end_ms IS NOT NULL AND end_ms - start_ms >= ? "
        "ORDER BY start_ms DESC, broadcast_id LIMIT ?",
        (room_id, (minute + 1) * MINUTE_MS - 1, 2 * int(n)))  # end_ms is inclusive
    if not listed:
        return []
    ranges: list[Any] = []
    for bid, start in listed:
        base = start - start % MINUTE_MS  # rows are clock minutes from the start's minute
        ranges += [bid, base + first * MINUTE_MS, base + last_row * MINUTE_MS]
    where = " OR ".join(["(broadcast_id = ? AND minute_ms >= ? AND minute_ms <= ?)"]
                        * len(listed))
    rows = store.db.query(
        "SELECT broadcast_id, minute_ms, data FROM roompulse_minutes "  # noqa: S608
        f"WHERE room_id = ? AND ({where}) ORDER BY minute_ms",  # `where`: placeholders only
        (room_id, *ranges))
    by_bid: dict[str, list[dict[str, Any]]] = {}
    for bid, _, data in rows:
        by_bid.setdefault(bid, []).append(orjson.loads(data))
    want = last_row - first + 1
    return [by_bid[bid] for bid, _ in listed if len(by_bid.get(bid, ())) == want][:n]


class HistoryBaselineReader:
    """Implements alerts.history.HistoryBaselines over a HistoryStore (opened lazily, on the
    reader's thread, from `settings`; or the `store` handed in, closed by whoever made it)."""

    def __init__(self, settings: HistorySettings | None = None, *,
                 store: HistoryStore | None = None, ttl_s: float = CACHE_TTL_S,
                 max_entries: int = CACHE_MAX, timeout_s: float = READ_TIMEOUT_S,
                 backoff_s: float = BACKOFF_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings or HistorySettings()
        self._store = store
        self._owns = store is None
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self.timeout_s, self.backoff_s = timeout_s, backoff_s
        self._clock = clock
        self._cache: OrderedDict[Key, tuple[float, list[float]]] = OrderedDict()
        self._failed_until = 0.0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roompulse-baselines")
        self.reads = 0  # database reads made (the cache's misses)

    def _open(self) -> HistoryStore:
        if self._store is None:
            self._store = HistoryStore.open(self.settings)
        return self._store

    def _read(self, room_id: str, minute: int, first: int, last_row: int, n: int
              ) -> list[list[dict[str, Any]]]:
        return past_minutes(self._open(), room_id, minute, first, last_row, n)

    async def same_minute(self, room_id: str, kpi: str, window: str, minute: int, last: int
                          ) -> list[float]:
        span = minute_span(window, minute)
        if span is None or last < 1 or not computable(kpi, window):
            return []  # minute rows cannot make this KPI over this window (minute_kpis)
        key = (room_id, kpi, window, minute, last)
        now = self._clock()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            self._cache.move_to_end(key)
            return list(hit[1])
        if now < self._failed_until:
            raise HistoryError("history baselines: backing off after a failed read", True)
        loop = asyncio.get_running_loop()
        self.reads += 1
        try:
            found = await asyncio.wait_for(loop.run_in_executor(
                self._pool, self._read, room_id, minute, span[0], span[1], last),
                self.timeout_s)
        except (HistoryError, TimeoutError) as exc:
            self._failed_until = self._clock() + self.backoff_s
            retryable = not isinstance(exc, HistoryError) or exc.retryable
            if retryable and self._owns and self._store is not None:
                store, self._store = self._store, None  # reconnect on the next read
                self._pool.submit(store.close)
            if isinstance(exc, TimeoutError):
                raise HistoryError(f"history baselines: no answer in {self.timeout_s} s",
                                   True) from None
            raise
        values = [v for rows in found if (v := kpi_of_rows(kpi, window, rows)) is not None]
        self._cache[key] = (self._clock(), values)
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return list(values)

    async def close(self) -> None:
        if self._store is not None and self._owns:
            store, self._store = self._store, None
            await asyncio.get_running_loop().run_in_executor(self._pool, store.close)
        self._pool.shutdown(wait=False)
