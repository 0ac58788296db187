"""The worker's audience step, between a batch's fold and its apply: load the rooms the
tracker does not hold, attribute, bound memory, count (streams.kpi.audience)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge
from redis.exceptions import ResponseError

from streams.kpi.audience import AudienceTracker
from streams.kpi.audience_store import load_rooms
from streams.kpi.config import KpiSettings
from streams.kpi.fold import Delta
from streams.kpi.store_base import KpiStoreBase
from streams.worker.retry import Retrier, Retryable

log = logging.getLogger(__name__)
# What reading a room's maps can fail with for good (not an outage): a key of the wrong type
# (WRONGTYPE), a value that is not ours.
UNREADABLE = (ResponseError, ValueError, TypeError, KeyError)


class AudienceMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.users = Gauge("roompulse_audience_users", (
            "Viewers the worker holds for live audience attribution (bounded by "
            "ROOMPULSE_KPI_AUDIENCE_MAX_USERS)"), registry=registry)
        self.untracked = Counter("roompulse_audience_untracked_viewers", (
            "Viewers counted but not attributed to a region, age band or source because a "
            "bound was reached (ROOMPULSE_KPI_AUDIENCE_MAX_USERS[_PER_ROOM])"), registry=registry)
        self.loads = Counter("roompulse_audience_room_loads", (
            "Rooms whose viewer map was read from Redis (first batch after a start, a "
            "rebalance, a batch not applied, or an eviction)"), registry=registry)
        self.evictions = Counter("roompulse_audience_room_evictions", (
            "Rooms dropped from worker memory above ROOMPULSE_KPI_AUDIENCE_MAX_USERS"),
            registry=registry)
        self.failures = Counter("roompulse_audience_failures", (
            "Rooms of a batch (or whole batches) applied without attribution because it failed "
            "for good, e.g. a viewer map that cannot be read (see the worker log)"),
            registry=registry)


class AudienceStep:
    def __init__(self, settings: KpiSettings, store: KpiStoreBase,
                 metrics: AudienceMetrics) -> None:
        self.store = store
        self.tracker = AudienceTracker(
            store.keys, settings.audience_max_users_per_room, settings.audience_max_users,
            settings.audience_max_regions, settings.audience_max_age_bands)
        self.metrics = metrics
        self._untracked, self._evicted = 0, 0

    async def _load(self, rooms: set[str], retry: Retrier) -> set[str]:
        """Load `rooms`; the ones whose maps cannot be read (a key of the wrong type under our
        prefix, an undecodable value) are returned, logged and counted, one by one."""
        t = self.tracker
        try:
            await retry(lambda: load_rooms(self.store, t, rooms))
            self.metrics.loads.inc(len(rooms))
            return set()
        except UNREADABLE:
            pass
        bad = set()
        for room in sorted(rooms):
            one = {room}
            try:
                await retry(partial(load_rooms, self.store, t, one))
                self.metrics.loads.inc()
            except UNREADABLE as exc:
                bad.add(room)
                log.error("audience of room %r not attributed in this batch: its viewer map "
                          "cannot be read (%s: %s)", room, type(exc).__name__, str(exc)[:200])
        self.metrics.failures.inc(len(bad))
        return bad

    def clear(self) -> None:
        """A batch was not applied, or partitions moved: Redis is the truth again."""
        self.tracker.clear()
        self.metrics.users.set(0)

    async def attribute(self, delta: Delta, retry: Retrier, current: Callable[[], bool],
                        stopping: Callable[[], bool]) -> None:
        """`run`, where a failure costs this batch its attribution, never the batch. An outage
        still pending at stop propagates; `current()` false means the apply in flight re-seeked
        (and dropped the maps) meanwhile: the batch is read again, nothing failed."""
        try:
            await self.run(delta, retry)
        except Exception as exc:
            if isinstance(exc, Retryable) or stopping():
                raise
            self.clear()
            if not current():
                return
            log.error("audience attribution failed (%s: %s); this batch is applied without it",
                      type(exc).__name__, str(exc)[:200])
            delta.extra_hashes.clear()
            delta.extra_minutes.clear()
            self.metrics.failures.inc()

    async def run(self, delta: Delta, retry: Retrier) -> None:
        """Attribute `delta.audience` into `delta.extra_hashes`. `retry(call)` retries the
        loads' retryable Redis errors (the engine's outage handling)."""
        if not delta.audience:
            return
        t = self.tracker
        rooms = {e.room_id for e in delta.audience}
        t.evict(rooms)
        missing = rooms - t.rooms.keys()
        events = delta.audience
        if missing:
            unreadable = await self._load(missing, retry)
            if unreadable:  # those rooms' events go unattributed, the others' are not held up
                events = [e for e in events if e.room_id not in unreadable]
        t.fold(events, delta.extra_hashes, delta.extra_minutes)
        delta.audience = []  # folded: the events need not stay alive until the apply
        self.metrics.users.set(t.total_users)
        if t.untracked != self._untracked:
            self.metrics.untracked.inc(t.untracked - self._untracked)
            self._untracked = t.untracked
        if t.evicted != self._evicted:
            self.metrics.evictions.inc(t.evicted - self._evicted)
            self._evicted = t.evicted
