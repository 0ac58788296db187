"""Prometheus metrics of the worker, on an injected registry, plus scrape-time KPI gauges."""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

BATCH_BUCKETS = (1, 10, 100, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class WorkerMetrics:
    """Every worker metric. Per partition, processed + dead_lettered == consumed, always."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        p = ("topic", "partition")
        self.events = Counter("roompulse_worker_events_total",
                              "Valid events consumed, by event type", ["type"], registry=registry)
        self.dead_letters = Counter("roompulse_worker_dead_letters_total",
                                    "Messages dead-lettered, by reason", ["reason"],
                                    registry=registry)
        self.consumed = Counter("roompulse_worker_consumed_total",
                                "Messages consumed, per partition", p, registry=registry)
        self.processed = Counter("roompulse_worker_processed_total",
                                 "Messages applied to the KPIs (duplicates included)", p,
                                 registry=registry)
        self.dead_lettered = Counter("roompulse_worker_dead_lettered_total",
                                     "Messages dead-lettered, per partition", p, registry=registry)
        self.duplicates = Counter("roompulse_worker_duplicates_total",
                                  "Duplicate event_ids skipped (counted in processed)", p,
                                  registry=registry)
        self.rewarmed = Counter("roompulse_worker_rewarmed_total",
                                "Messages re-read after an assignment to rebuild dedup memory",
                                registry=registry)
        self.batch_size = Histogram("roompulse_worker_batch_size", "Messages per fetched batch",
                                    buckets=BATCH_BUCKETS, registry=registry)
        self.batch_seconds = Histogram("roompulse_worker_batch_seconds",
                                       "Time to process one batch, fetch excluded",
                                       buckets=SECONDS_BUCKETS, registry=registry)
        self.apply_seconds = Histogram("roompulse_worker_redis_apply_seconds",
                                       "Time of one atomic Redis apply",
                                       buckets=SECONDS_BUCKETS, registry=registry)
        self.lag = Gauge("roompulse_worker_consumer_lag", "Highwater minus position", p,
                         registry=registry)
        self.event_time_lag = Gauge("roompulse_worker_event_time_lag_seconds",
                                    "Now minus the newest event time applied", registry=registry)
        self.redis_up = Gauge("roompulse_worker_redis_up", "1 when the last Redis apply worked",
                              registry=registry)
        self.last_apply = time.time()
        since = Gauge("roompulse_worker_seconds_since_last_apply",
                      "Seconds since the last successful apply", registry=registry)
        since.set_function(lambda: time.time() - self.last_apply)
        self.redis_up.set(1)
        self.kafka_up = Gauge("roompulse_worker_kafka_up",
                              "0 while the KPI loop's broker gives no fetch responses",
                              registry=registry)
        self.kafka_up.set(1)

    def count_partition(self, topic: str, partition: int, consumed: int, processed: int,
                        dead: int, duplicates: int) -> None:
        labels = (topic, str(partition))
        self.consumed.labels(*labels).inc(consumed)
        self.processed.labels(*labels).inc(processed)
        if dead:
            self.dead_lettered.labels(*labels).inc(dead)
        if duplicates:
            self.duplicates.labels(*labels).inc(duplicates)

    def forget_partition(self, topic: str, partition: int) -> None:
        """A revoked partition's lag is another worker's to report."""
        try:
            self.lag.remove(topic, str(partition))
        except KeyError:
            pass


class KpiCollector(Collector):
    """Room and top-N product KPIs as gauges. `refresh()` (async, before a scrape) fills the
    cache that the synchronous `collect()` reads, so a scrape never blocks the event loop."""

    def __init__(self, store, windows: Iterable[str], top_n: int) -> None:
        self.store = store
        self.windows = list(windows)
        self.top_n = top_n
        self._rooms: list[tuple[str, str, str, float]] = []
        self._products: list[tuple[str, str, str, str, float]] = []
        self._sources: list[tuple[str, str, str, str, float]] = []
        self._info: list[tuple[list[str], float | None]] = []

    async def refresh(self) -> None:
        rooms: list[tuple[str, str, str, float]] = []
        products: list[tuple[str, str, str, str, float]] = []
        sources: list[tuple[str, str, str, str, float]] = []
        info: list[tuple[list[str], float | None]] = []
        for state in await self.store.rooms():
            room = state.room_id
            labels = [room, state.brand_id or "", state.platform or "", state.stage or "",
                      state.phase or "", state.pinned_product_id or ""]
            age = None
            if state.last_seen_ms is not None:
                age = max(0.0, time.time() - state.last_seen_ms / 1000)
            info.append((labels, age))
            for window in self.windows:
                for src in await self.store.source_kpis(room, window):
                    for name, kv in src.kpis.items():
                        if kv.value is not None:
                            sources.append((room, window, src.source, name, float(kv.value)))
                snap = await self.store.room_kpis(room, window)
                for name, kv in snap.kpis.items():
                    if kv.value is not None:
                        rooms.append((room, window, name, float(kv.value)))
                prods = await self.store.product_kpis(room, window)
                prods = sorted(prods, key=_clicks, reverse=True)[: self.top_n]
                for prod in prods:
                    for name, kv in prod.kpis.items():
                        if kv.value is not None:
                            products.append((room, window, prod.product_id, name,
                                             float(kv.value)))
        self._rooms, self._products = rooms, products
        self._sources, self._info = sources, info

    def collect(self):
        room = GaugeMetricFamily("roompulse_room_kpi", "Room KPI over a window",
                                 labels=["room", "window", "kpi"])
        for r, w, k, v in self._rooms:
            room.add_metric([r, w, k], v)
        yield room
        prod = GaugeMetricFamily("roompulse_product_kpi",
                                 "Product KPI over a window (top-N products by clicks only)",
                                 labels=["room", "window", "product", "kpi"])
        for r, w, p, k, v in self._products:
            prod.add_metric([r, w, p, k], v)
        yield prod
        src = GaugeMetricFamily("roompulse_source_kpi", "Traffic-source KPI over a window",
                                labels=["room", "window", "source", "kpi"])
        for r, w, so, k, v in self._sources:
            src.add_metric([r, w, so, k], v)
        yield src
        info = GaugeMetricFamily("roompulse_room_info", "1 per room: brand, platform, stage, "
                                 "phase and pinned product as labels",
                                 labels=["room", "brand", "platform", "stage", "phase",
                                         "pinned_product"])
        age = GaugeMetricFamily("roompulse_room_last_apply_age_seconds",
                                "Seconds since the room's newest event was applied",
                                labels=["room"])
        for labels, seconds in self._info:
            info.add_metric(labels, 1.0)
            if seconds is not None:
                age.add_metric([labels[0]], seconds)
        yield info
        yield age


def _clicks(prod) -> float:
    kv = prod.kpis.get("product_clicks")
    return float(kv.value) if kv is not None and kv.value is not None else 0.0
