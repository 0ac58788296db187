"""Prometheus metrics of the worker, on an injected registry, plus scrape-time KPI gauges."""

from __future__ import annotations

import contextlib
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
        with contextlib.suppress(KeyError):  # never reported: nothing to remove
            self.lag.remove(topic, str(partition))


class KpiCollector(Collector):
    """Room and top-N product KPIs as gauges. `refresh()` (async, before a scrape) fills the
    cache that the synchronous `collect()` reads, so a scrape never blocks the event loop.

    Bounded: at most `max_rooms` rooms (most recently active first) and `max_series` series,
    read within `budget_s`; whatever is cut is counted in roompulse_metrics_truncated and
    friends (see `limit`), never dropped silently. Reads go through a RoomWindowReader, so a
    scrape costs about one pipelined read per 16 rooms.
    """

    def __init__(self, store, windows: Iterable[str], top_n: int, *, max_rooms: int = 200,
                 max_series: int = 20_000, budget_s: float = 1.0) -> None:
        self.store = store
        self.windows = list(windows)
        self.top_n = top_n
        self.max_rooms, self.max_series, self.budget_s = max_rooms, max_series, budget_s
        self._reader = None
        self._cut: TruncationMetrics | None = None
        self._rooms: list[tuple[str, str, str, float]] = []
        self._products: list[tuple[str, str, str, str, float]] = []
        self._sources: list[tuple[str, str, str, str, float]] = []
        self._info: list[tuple[list[str], float | None]] = []
        self.max_loop_share = 1.0
        self._refreshed_at: float | None = None  # perf_counter at the last refresh's start
        self._cost = 0.0  # how long it took

    def limit(self, *, max_rooms: int, max_series: int, budget_s: float,
              registry: CollectorRegistry | None = None, max_loop_share: float = 1.0) -> None:
        """Set the bounds; with a registry, export what each scrape had to cut."""
        self.max_rooms, self.max_series, self.budget_s = max_rooms, max_series, budget_s
        self.max_loop_share = max_loop_share
        if registry is not None and self._cut is None:
            self._cut = TruncationMetrics(registry)

    def _window_reader(self):
        if self._reader is None:
            from streams.kpi.roomread import RoomWindowReader

            self._reader = RoomWindowReader(self.store, max_rooms=max(1, self.max_rooms))
        return self._reader

    async def refresh(self) -> None:
        started = time.perf_counter()
        # Bounded share of the event loop: a refresh that took `cost` seconds is reused for
        # cost / max_loop_share seconds, whatever the scrape rate (at 1,000 rooms one refresh
        # is ~1.3 s: scraped every 5 s it took a quarter of the worker's loop from the KPI
        # loop and the alert ticks). A few rooms cost ms: every scrape refreshes.
        if self._refreshed_at is not None and self.max_loop_share < 1.0 and \
                started - self._refreshed_at < self._cost / self.max_loop_share:
            if self._cut is not None:
                self._cut.reused.inc()
            return
        try:
            await self._refresh(started)
        except Exception:
            if self._cut is not None:
                self._cut.errors.inc()
                self._cut.stale.set(1)
            raise
        self._cost = time.perf_counter() - started
        self._refreshed_at = started
        if self._cut is not None:
            self._cut.stale.set(0)
            self._cut.seconds.set(self._cost)

    async def _refresh(self, started: float) -> None:
        rooms: list[tuple[str, str, str, float]] = []
        products: list[tuple[str, str, str, str, float]] = []
        sources: list[tuple[str, str, str, str, float]] = []
        info: list[tuple[list[str], float | None]] = []
        reader = self._window_reader()
        if hasattr(self.store, "live_room_ids"):
            # The store lists rooms most recently active first: read only the ones exported.
            ids = await reader.room_ids()
            over_rooms = max(0, len(ids) - self.max_rooms)
            found, _ = await reader.states(ids[: self.max_rooms])
            states = [s for s in found if s is not None]
        else:
            states = sorted(await self.store.rooms(),
                            key=lambda s: (-(s.last_seen_ms or 0), s.room_id))
            over_rooms = max(0, len(states) - self.max_rooms)
            states = states[: self.max_rooms]
        now = await self.store.stream_clock_ms()
        series = series_dropped = 0
        read = 0

        def keep(value: float | None) -> bool:
            """A value to export, within max_series (what is over it is counted)."""
            nonlocal series, series_dropped
            if value is None:
                return False
            if series >= self.max_series:
                series_dropped += 1
                return False
            series += 1
            return True

        timed_out = False
        # A few rooms per read: turning one room's rows into KPIs is ~10-20 ms of CPU on the
        # event loop (every product of every window); 16 at a time held /healthz ~350 ms.
        step = 4
        for i in range(0, len(states), step):
            if time.perf_counter() - started > self.budget_s:
                timed_out = True
                break
            chunk = states[i:i + step]
            needs = {(per, w, now or 0): None for per in ("room", "product", "source")
                     for w in self.windows}
            got = await reader.read_many([(s.room_id, {k: _ALL for k in needs}) for s in chunk])
            for state, (fresh, rows) in zip(chunk, got, strict=True):
                read += 1
                if fresh is None:
                    continue
                room = state.room_id
                labels = [room, state.brand_id or "", state.platform or "", state.stage or "",
                          state.phase or "", state.pinned_product_id or ""]
                age = None
                if state.last_seen_ms is not None:
                    age = max(0.0, time.time() - state.last_seen_ms / 1000)
                info.append((labels, age))
                for (per, window, _), result in rows.items():
                    if per == "room":
                        rooms += [(room, window, name, float(kv.value))
                                  for name, kv in result.kpis.items() if keep(kv.value)]
                    elif per == "product":
                        top = sorted(result, key=_clicks, reverse=True)[: self.top_n]
                        products += [(room, window, p.product_id, name, float(kv.value))
                                     for p in top for name, kv in p.kpis.items()
                                     if keep(kv.value)]
                    else:
                        sources += [(room, window, src.source, name, float(kv.value))
                                    for src in result for name, kv in src.kpis.items()
                                    if keep(kv.value)]
        self._rooms, self._products = rooms, products
        self._sources, self._info = sources, info
        if self._cut is not None:
            self._cut.record(rooms=over_rooms + len(states) - read, over_rooms=over_rooms > 0,
                             series=series_dropped, timed_out=timed_out)

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


class _All:
    """A read need for every KPI and every top-N product."""

    kpis = None
    products = None


_ALL = _All()


class TruncationMetrics:
    """What the last scrape's KPI collector had to leave out, and why."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.truncated = Gauge("roompulse_metrics_truncated",
                               "1 when the last scrape left KPI series out: reason=rooms "
                               "(ROOMPULSE_API_METRICS_MAX_ROOMS), series (..._MAX_SERIES) or "
                               "time (..._BUDGET_S)", ["reason"], registry=registry)
        self.rooms = Gauge("roompulse_metrics_kpi_rooms_dropped",
                           "Rooms whose KPI gauges the last scrape did not export",
                           registry=registry)
        self.series = Gauge("roompulse_metrics_kpi_series_dropped",
                            "KPI series the last scrape did not export (series cap)",
                            registry=registry)
        self.seconds = Gauge("roompulse_metrics_kpi_refresh_seconds",
                             "Time the last scrape spent reading KPIs", registry=registry)
        self.errors = Counter("roompulse_metrics_kpi_refresh_errors_total",
                              "Scrapes whose KPI read failed (Redis down): KPI gauges are from "
                              "an earlier scrape", registry=registry)
        self.reused = Counter("roompulse_metrics_kpi_reused_total",
                              "Scrapes that exported the previous scrape's KPI values (the "
                              "refresh's loop share, ROOMPULSE_API_METRICS_MAX_LOOP_SHARE)",
                              registry=registry)
        self.stale = Gauge("roompulse_metrics_kpi_stale",
                           "1 when the last KPI read failed and the KPI gauges are old",
                           registry=registry)
        for reason in ("rooms", "series", "time"):
            self.truncated.labels(reason).set(0)

    def record(self, *, rooms: int, over_rooms: bool, series: int, timed_out: bool) -> None:
        self.rooms.set(rooms)
        self.series.set(series)
        self.truncated.labels("rooms").set(int(over_rooms))
        self.truncated.labels("series").set(int(series > 0))
        self.truncated.labels("time").set(int(timed_out))
