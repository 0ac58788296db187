"""HistoryWriter: every pass, the minutes that closed (stream time) and each broadcast's summary.

Runs on the worker's leader as a periodic task beside the KPI loop, never inside it: it only
reads the KPI store (as the console does) and does every database call on one dedicated thread,
so a slow or absent database delays history, never KPIs. A failed pass is counted and logged
once; the next pass writes what is missing (within `backfill_minutes`). Its one write to Redis:
the per-host distinct-user sketches of the minutes it writes (streams.history.host_sketches).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from alerts.sinks.console import AlertFeed
from streams.history.alertlog import AlertLog
from streams.history.db import HistoryError
from streams.history.host_sketches import HostSketches
from streams.history.settings import HistorySettings
from streams.history.snapshot import (
    MINUTE_MS,
    broadcast_id,
    read_minute,
    read_summary,
    state_fields,
)
from streams.history.store import HistoryStore
from streams.kpi.store_base import KpiStoreBase

log = logging.getLogger(__name__)
PURGE_EVERY_S = 3600.0


class HistoryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.rows = Counter("roompulse_history_rows_written", "minute rows and summaries written",
                            ["kind"], registry=registry)
        self.failures = Counter("roompulse_history_failures", "history passes that failed",
                                ["retryable"], registry=registry)
        self.seconds = Gauge("roompulse_history_pass_seconds", "duration of the last pass",
                             registry=registry)
        self.last_ok = Gauge("roompulse_history_last_success_timestamp_seconds",
                             "wall time of the last pass that wrote everything", registry=registry)
        self.rooms = Gauge("roompulse_history_rooms", "broadcasts written in the last pass",
                           registry=registry)
        self.deferred = Gauge("roompulse_history_rooms_deferred",
                              "live broadcasts the last pass left for the next one (its time "
                              "budget ran out)", registry=registry)
        self.alert_entries = Counter(
            "roompulse_history_alert_entries", "alert timeline entries: read from the rooms' "
            "alert logs, restored from history stored before (a restarted or new leader), "
            "dropped over the bound per room", ["outcome"], registry=registry)
        self.alert_failures = Counter("roompulse_history_alert_log_failures",
                                      "reads of a room's alert log that failed (its summary is "
                                      "written with the timeline read before)", registry=registry)


class HistoryWriter:
    def __init__(self, kpis: KpiStoreBase, settings: HistorySettings | None = None, *,
                 registry: CollectorRegistry, store: HistoryStore | None = None,
                 feed: AlertFeed | None = None) -> None:
        self.kpis = kpis
        self.alerts = AlertLog(feed) if feed is not None else None
        self.settings = settings or HistorySettings()
        self.metrics = HistoryMetrics(registry)
        self.sketches = HostSketches.for_store(kpis, self.settings.host_sketches,
                                               self.settings.max_hosts, registry)
        self._store = store
        self._owns = store is None  # a store handed in is closed by whoever made it
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roompulse-history")
        self._next: dict[str, int] = {}  # broadcast id -> first minute not yet written
        self._states: dict[str, dict[int, dict]] = {}  # recent minutes' stage/phase/pin
        # broadcast id -> (last event summarised, when, whether it had ended)
        self._seen: dict[str, tuple[int | None, float, bool]] = {}
        self._purged = 0.0
        self._closed = False
        self._cursor = 0  # where the next pass starts in the live-room list

    async def _db(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _open(self) -> HistoryStore:
        if self._store is None:
            self._store = HistoryStore.open(self.settings)
        return self._store

    async def tick(self) -> int:
        """One pass; returns the broadcasts written. Never raises (counts and logs instead)."""
        if self._closed:
            return 0  # stopping: the last pass of a stopping worker is not an error
        t0 = time.monotonic()
        try:
            n = await self._pass()
        except HistoryError as exc:
            self.metrics.failures.labels(str(exc.retryable).lower()).inc()
            log.warning("history not written (%s): %s",
                        "will retry" if exc.retryable else "not retryable", exc)
            if exc.retryable and self._store is not None:  # reconnect on the next pass
                store, self._store = self._store, None
                await self._db(store.close)
            return 0
        except Exception:
            if self._closed:
                return 0  # the worker stopped during the pass
            self.metrics.failures.labels("true").inc()
            log.exception("history pass failed")
            return 0
        finally:
            self.metrics.seconds.set(time.monotonic() - t0)
        self.metrics.last_ok.set(time.time())
        self.metrics.rooms.set(n)
        return n

    async def _pass(self) -> int:
        clock = await self.kpis.stream_clock_ms()
        if clock is None:
            return 0
        store = await self._db(self._open)
        sketches = self.sketches
        if sketches is not None:
            await sketches.flush()  # what a failed pass left queued
        open_minute = clock - clock % MINUTE_MS
        s = self.settings
        written = 0
        rooms = [st for st in await self.kpis.rooms(limit=s.max_rooms)
                 if st.broadcast_start_ms is not None]
        live = {broadcast_id(st.room_id, st.broadcast_start_ms) for st in rooms
                if st.broadcast_start_ms is not None}
        # A time budget per pass, round-robin: with thousands of live rooms a pass would read
        # for minutes; the rooms not reached come first next time, none is starved.
        at = self._cursor % len(rooms) if rooms else 0
        deadline = time.monotonic() + s.pass_budget_s
        reached = 0
        for st in rooms[at:] + rooms[:at]:
            if reached and time.monotonic() > deadline:
                break
            reached += 1
            await asyncio.sleep(0)  # let probes and the API in between rooms
            if st.broadcast_start_ms is None:  # filtered above; this narrows the type
                continue
            bid = broadcast_id(st.room_id, st.broadcast_start_ms)
            first = st.broadcast_start_ms - st.broadcast_start_ms % MINUTE_MS
            end = open_minute
            if st.broadcast_end_ms is not None and clock >= st.broadcast_end_ms:
                # ended: its last minute is closed too (only late events may still come)
                end = st.broadcast_end_ms - st.broadcast_end_ms % MINUTE_MS + MINUTE_MS
            done = self._next.get(bid)
            start = first if done is None else done - s.rewrite_minutes * MINUTE_MS
            start = max(start, first, open_minute - s.backfill_minutes * MINUTE_MS)
            states = self._states.setdefault(bid, {})
            if done is None:
                # First pass of this process over the broadcast (a restart, or a new one):
                # minutes stored before keep their state instead of taking today's, and the
                # hosts the stored summary counted keep being counted (sketches in Redis).
                stored = await self._db(store.minute_states, bid, start - MINUTE_MS)
                for m, fields in stored.items():
                    states.setdefault(m, fields)
                if sketches is not None:
                    sketches.remember(bid, await self._db(store.sketched_hosts, bid, start))
            rows = []
            for m in range(start, end, MINUTE_MS):
                # the audience counters exist only with attribution on: no read for nothing
                row = await read_minute(self.kpis, st.room_id, m, None,
                                        broadcast_start_ms=st.broadcast_start_ms
                                        if self.kpis.settings.audience else None)
                # a minute keeps the stage/phase/pin/host it closed with, however often
                # rewritten; a host who took over after it leaves it the minute before's
                row.update(states.setdefault(m, state_fields(st, m, states.get(m - MINUTE_MS))))
                rows.append(row)
            for m in [m for m in states if m < end - s.rewrite_minutes * MINUTE_MS]:
                del states[m]
            due = self._summary_due(bid, st, clock)
            if sketches is not None:
                # New minutes; the one written for the last time (its late events are in);
                # all the rows before a summary. Merging a minute again changes nothing.
                last = None if done is None else done - s.rewrite_minutes * MINUTE_MS
                sketches.add(st.room_id, st.broadcast_start_ms, bid,
                             [r for r in rows if due or done is None or r["minute_ms"] >= done
                              or r["minute_ms"] == last])
            summary = None
            if due:
                summary = await read_summary(self.kpis, st.room_id, now_ms=clock)
                if summary is not None and self.alerts is not None:
                    summary["alerts"] = await self._alert_timeline(self.alerts, store, bid, st)
                if summary is not None and sketches is not None:
                    counts = await sketches.flush((st.room_id, st.broadcast_start_ms, bid))
                    if counts:
                        summary["hosts_distinct"] = counts
            if rows or summary is not None:
                await self._db(store.save, summary, rows, bid, st.room_id, int(time.time() * 1000))
                self.metrics.rows.labels("minute").inc(len(rows))
                if summary is not None:
                    self.metrics.rows.labels("broadcast").inc()
                    self._seen[bid] = (st.last_event_ms, time.monotonic(),
                                       st.broadcast_end_ms is not None)
                written += 1
            self._next[bid] = max(end, self._next.get(bid, end))
        if sketches is not None:
            await sketches.flush()
            sketches.forget(live)
        self._cursor = (at + reached) % len(rooms) if rooms else 0
        self.metrics.deferred.set(len(rooms) - reached)
        if self.alerts is not None:
            self.alerts.keep({b.rpartition("@")[0] for b in live})
        for bid in [b for b in self._next if b not in live]:  # bounded by the live rooms
            self._next.pop(bid, None)
            self._states.pop(bid, None)
            self._seen.pop(bid, None)
        if time.monotonic() - self._purged > PURGE_EVERY_S:
            self._purged = time.monotonic()
            await self._db(store.purge, int(time.time() * 1000), s.retention_days)
        return written

    async def _alert_timeline(self, alerts: AlertLog, store: HistoryStore, bid: str, st: Any
                              ) -> list[dict]:
        """The room's timeline within the broadcast: what history stored for it before (read
        once per process and broadcast, so a restart keeps it) and the room's alert log since
        the last read. The log is Redis too; without it the summary is still worth writing."""
        m = self.metrics
        dropped = alerts.dropped
        if not alerts.merged(st.room_id, bid):
            stored = await self._db(store.alerts_of, bid)
            m.alert_entries.labels("restored").inc(alerts.merge(st.room_id, bid, stored))
        try:
            m.alert_entries.labels("read").inc(await alerts.read(st.room_id))
        except Exception as exc:  # noqa: BLE001 - the alert timeline is optional
            m.alert_failures.inc()
            log.warning("history: alert log of %s not read: %s", st.room_id, type(exc).__name__)
        m.alert_entries.labels("dropped").inc(alerts.dropped - dropped)
        return alerts.timeline(st.room_id, st.broadcast_start_ms, st.broadcast_end_ms)

    def _summary_due(self, bid: str, st: Any, clock: int) -> bool:
        """First pass, once after the broadcast ended, else every summary_interval_s while
        events still arrive."""
        seen = self._seen.get(bid)
        if seen is None:
            return True
        last_event, at, ended = seen
        if st.broadcast_end_ms is not None and clock >= st.broadcast_end_ms:
            return not ended or last_event != st.last_event_ms  # late events after the end
        return last_event != st.last_event_ms and \
            time.monotonic() - at >= self.settings.summary_interval_s

    async def close(self) -> None:
        self._closed = True
        if self._store is not None and self._owns:
            await self._db(self._store.close)
            self._store = None
        self._pool.shutdown(wait=False)
