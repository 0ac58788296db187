"""Metrics of the ingest path's time policy, limits and apply outcomes (injected registry)."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from functools import partial, reduce
from operator import add

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from streams.ingest.limits import LiveRooms
from streams.ingest.prepare import Prepared

LATENESS_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 13 * 3600)


class EngineMetrics:
    """What the KPI loop decides beyond consumed/processed/dead-lettered."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.late = Counter("roompulse_worker_late_events_total",
                            "Events behind the watermark by more than the grace, still applied",
                            registry=registry)
        self.lateness = Histogram("roompulse_worker_event_lateness_seconds",
                                  "How far behind the partition watermark late events were",
                                  buckets=LATENESS_BUCKETS, registry=registry)
        self.state_lost = Counter("roompulse_worker_state_lost_total",
                                  "Times Redis was found to have lost the KPI state (rebuilt "
                                  "from the earliest retained offsets)", registry=registry)
        self.moved = Counter("roompulse_worker_offsets_moved_total",
                             "Applies refused because a stored offset was elsewhere (stale "
                             "writer or gap); the worker re-seeks", registry=registry)
        self.refused = Counter("roompulse_worker_apply_refused_total",
                               "Batches Redis refused for good (wrong key type, script error); "
                               "their events are dead-lettered internal", registry=registry)
        self.commits_failed = Counter(
            "roompulse_worker_advisory_commits_failed_total",
            "Advisory Kafka offset commits (for lag tools; Redis offsets decide where a worker "
            "resumes) that failed or got no answer in time", registry=registry)
        self.live_rooms = Gauge("roompulse_worker_live_rooms",
                                "Rooms this worker tracks (bounded by "
                                "ROOMPULSE_KPI_MAX_LIVE_ROOMS)", registry=registry)
        self.live_rooms_limit = Gauge("roompulse_worker_live_rooms_limit",
                                      "ROOMPULSE_KPI_MAX_LIVE_ROOMS", registry=registry)
        self.rooms_refused = Counter("roompulse_worker_rooms_refused_total",
                                     "Events refused because their room was new while the live "
                                     "room cap was reached", registry=registry)

    def observe(self, p: Prepared, rooms: LiveRooms) -> None:
        if p.late_s:
            self.late.inc(len(p.late_s))
            observe_all(self.lateness, p.late_s)
        refused = sum(1 for r in p.rejected if r.why.reason.value == "room_limit")
        if refused:
            self.rooms_refused.inc(refused)
        self.live_rooms.set(len(rooms))
        self.live_rooms_limit.set(rooms.cap)


def observe_all(hist: Histogram, amounts: list[float]) -> None:
    """`hist.observe(a)` for every `a` (finite), with one update per bucket instead of one per
    amount: a replayed backlog can have thousands of late events per batch, and each observe
    is a Python loop over the buckets with a lock per step (~0.8 µs).

    The same exposition as observing one by one: each amount counted in the first bucket whose
    bound is >= it (bisect_left), the sum added in the same order. Falls back to observe() if
    prometheus_client's histogram internals are not there.
    """
    bounds = getattr(hist, "_upper_bounds", None)
    buckets = getattr(hist, "_buckets", None)
    total = getattr(hist, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for a in amounts:
            hist.observe(a)
        return
    for i, n in Tally(map(partial(bisect_left, bounds), amounts)).items():
        buckets[i].inc(n)
    total.set(reduce(add, amounts, total.get()))  # only the loop thread observes this metric
