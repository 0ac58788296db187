"""After an apply: metrics per partition and per reason; and the two ways a batch is written
off whole (it could not be prepared, or Redis refused it) without losing its accounting."""

from __future__ import annotations

import logging
import time

from schemas.decode import DeadLetter, DeadLetterReason
from streams.ingest.limits import LiveRooms
from streams.ingest.prepare import Prepared, Rejected
from streams.kpi.fold import Delta
from streams.worker.engine_metrics import EngineMetrics
from streams.worker.metrics import WorkerMetrics

log = logging.getLogger(__name__)
ROOM_LOG_LIMIT = 100  # refused rooms named in the log, at most


class Accounting:
    """Turns applied batches into metrics; logs each refused room once (bounded)."""

    def __init__(self, metrics: WorkerMetrics, more: EngineMetrics, rooms: LiveRooms) -> None:
        self.metrics, self.more, self.rooms = metrics, more, rooms
        self._rooms_logged: set[str] = set()
        # Records each partition had left after its last batch (owned partitions only).
        self.backlog: dict[tuple[str, int], int] = {}

    def behind(self, records: int) -> bool:
        """More than `records` messages wait in the partitions this worker applied last."""
        return sum(self.backlog.values()) > records

    def batch(self, p: Prepared, highwater, started: float, now_ms: int) -> None:
        """`highwater(topic, partition)` gives the partition's high watermark or None."""
        m = self.metrics
        for (topic, partition), (consumed, dead, dups) in p.counts.items():
            m.count_partition(topic, partition, consumed, consumed - dead, dead, dups)
            high = highwater(topic, partition)
            if high is not None:
                lag = max(0, high - p.offsets[(topic, partition)])
                m.lag.labels(topic, str(partition)).set(lag)
                self.backlog[(topic, partition)] = lag
        for r in p.rejected:
            m.dead_letters.labels(r.why.reason.value).inc()
        for etype, n in p.types.items():
            m.events.labels(etype).inc(n)
        self.more.observe(p, self.rooms)
        for room in sorted(p.refused_rooms - self._rooms_logged):
            if len(self._rooms_logged) >= ROOM_LOG_LIMIT:
                break
            self._rooms_logged.add(room)
            log.warning("room %r refused: %d rooms are live (ROOMPULSE_KPI_MAX_LIVE_ROOMS); its "
                        "events are dead-lettered room_limit", room[:64], self.rooms.cap)
        m.batch_size.observe(p.size)
        if p.delta.max_event_ms:
            m.event_time_lag.set(max(0.0, (now_ms - p.delta.max_event_ms) / 1000))
        m.last_apply = time.time()
        m.batch_seconds.observe(time.perf_counter() - started)


def quarantine(parts: list[tuple[tuple[str, int], list]], exc: BaseException) -> Prepared:
    """Every message of a batch that could not be prepared, dead-lettered `internal`."""
    why = DeadLetter(DeadLetterReason.internal, f"{type(exc).__name__}: {str(exc)[:200]}")
    rejected = [Rejected(t, part, r.offset, r.key, r.value, why)
                for (t, part), records in parts for r in records]
    return Prepared(Delta(), rejected, {k: rs[-1].offset + 1 for k, rs in parts},
                    {k: (len(rs), len(rs), 0) for k, rs in parts},
                    size=sum(len(rs) for _, rs in parts))


def written_off(p: Prepared) -> tuple[Prepared, list[Rejected]]:
    """A batch Redis refused: every folded message dead-lettered `internal`, offsets kept.
    Returns the replacement batch (empty delta) and the new dead letters to send."""
    why = DeadLetter(DeadLetterReason.internal, "the Redis apply refused this batch (a key of "
                     "the wrong type, or a script error); see the worker log")
    extra = [Rejected(t, part, records[i].offset, records[i].key, records[i].value, why)
             for (t, part), records, keep in p.folded for i in keep]
    counts = dict(p.counts)
    for key, _, keep in p.folded:
        n, dead, dups = counts[key]
        counts[key] = (n, dead + len(keep), dups)
    return Prepared(Delta(), p.rejected + extra, p.offsets, counts, size=p.size), extra
