"""Worker metrics: the scrape-time KPI collector exports room KPIs and only the top-N products;
the engine's accounting turns prepared batches into per-partition counters."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import orjson
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from schemas.events import EVENT_ADAPTER
from streams.ingest.prepare import prepare
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_memory import InMemoryKpiStore
from streams.worker.accounting import Accounting
from streams.worker.engine_metrics import EngineMetrics
from streams.worker.metrics import KpiCollector, WorkerMetrics
from tests.streams.ingest.harness import NOW as HNOW
from tests.streams.ingest.harness import POLICY, SETTINGS, like, new_state, records

NOW = int(time.time() * 1000)


def click(i: int, product: str) -> object:
    return EVENT_ADAPTER.validate_python({"type": "product_click", "event_id": f"e{i}",
                                          "room_id": "r1", "ts": NOW, "user_id": f"u{i}",
                                          "product_id": product})


@pytest.mark.asyncio(loop_scope="session")
async def test_collector_exports_room_kpis_and_top_n_products_only() -> None:
    kpi = KpiSettings()
    store = InMemoryKpiStore(kpi)
    folder = BatchFolder(kpi)
    for i in range(6):  # p-a: 3 clicks, p-b: 2, p-c: 1
        folder.add(click(i, "p-a" if i < 3 else "p-b" if i < 5 else "p-c"))
    enter = EVENT_ADAPTER.validate_python({"type": "enter", "event_id": "x", "room_id": "r1",
                                           "ts": NOW, "user_id": "u1"})
    folder.add(enter)
    assert await store.apply(folder.take(), {("t", 0): 7}, "g", NOW)
    registry = CollectorRegistry()
    collector = KpiCollector(store, ["5m"], top_n=2)
    registry.register(collector)
    await collector.refresh()
    text = generate_latest(registry).decode()
    assert 'roompulse_room_kpi{kpi="product_clicks",room="r1",window="5m"} 6.0' in text
    assert 'roompulse_room_kpi{kpi="entries",room="r1",window="5m"} 1.0' in text
    assert 'product="p-a"' in text and 'product="p-b"' in text
    assert 'product="p-c"' not in text
    assert 'roompulse_source_kpi{kpi="entries",room="r1",source="other",window="5m"} 1.0' in text
    assert 'roompulse_room_info{' in text and 'room="r1"' in text
    assert registry.get_sample_value("roompulse_room_last_apply_age_seconds", {"room": "r1"}) >= 0



class _SlowStore(InMemoryKpiStore):
    """The real in-memory store, with every hash read taking 50 ms (a big Redis at scale)."""

    reads = 0

    async def _hgetall_many(self, keys):
        type(self).reads += 1
        await asyncio.sleep(0.05)
        return await super()._hgetall_many(keys)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_costly_kpi_refresh_is_reused_within_its_loop_share_and_counted() -> None:
    kpi = KpiSettings()
    store = _SlowStore(kpi)
    folder = BatchFolder(kpi)
    folder.add(click(1, "p-a"))
    assert await store.apply(folder.take(), {("t", 0): 1}, "g", NOW)
    registry = CollectorRegistry()
    collector = KpiCollector(store, ["5m"], top_n=2)
    collector.limit(max_rooms=10, max_series=1000, budget_s=5, registry=registry,
                    max_loop_share=0.01)  # a refresh of >= 50 ms is reused for >= 5 s
    registry.register(collector)
    await collector.refresh()
    reads = _SlowStore.reads
    await collector.refresh()  # at once: served from the first
    assert _SlowStore.reads == reads
    assert registry.get_sample_value("roompulse_metrics_kpi_reused_total") == 1
    assert 'kpi="product_clicks",room="r1",window="5m"} 1.0' in generate_latest(registry).decode()
    collector.max_loop_share = 1.0  # refresh on every scrape
    await collector.refresh()
    assert _SlowStore.reads > reads
    assert registry.get_sample_value("roompulse_metrics_kpi_reused_total") == 1

TOPIC = "t.interactions"
UNKNOWN = orjson.dumps({"type": "no_such", "event_id": "x", "room_id": "r", "ts": HNOW})
BAD_TS = orjson.dumps({"type": "like", "event_id": "c", "room_id": "r", "ts": "yesterday"})
# (message, what must become of it): known by construction, not read back from the code.
PARTITION_0 = [
    (like("a"), "ok"), (like("b"), "ok"), (like("a"), "duplicate"),
    (b"not json", "not_json"), (b"", "not_json"), (b"\xff\xfe", "not_json"),
    (UNKNOWN, "unknown_type"), (BAD_TS, "invalid"), (b"[1, 2]", "not_object"),
    (like("d", room="r2"), "room_limit"),  # one live room allowed, and "r" has it
    (like("e", ts=HNOW - 10 * 86_400_000), "too_old"),
]
PARTITION_1 = [
    (like("a"), "ok"),  # duplicates are per partition: partition 0's "a" is another message
    (like("f"), "ok"), (like("f"), "duplicate"), (b'{"type": "like"}', "invalid"),
]
AGAIN_0 = [(like("b"), "duplicate"), (like("g"), "ok")]  # the dedup memory outlives a batch
FOLDED = ("ok", "duplicate")


def test_partition_counts_go_through_the_engine_accounting() -> None:
    """Hostile messages on two partitions, prepared by the real ingest path and counted by the
    engine's Accounting onto a fresh registry: per partition, processed + dead-lettered ==
    consumed, duplicates counted; dead letters by reason; lag from the high watermark."""
    state = new_state(rooms=1)
    reg = CollectorRegistry()
    accounting = Accounting(WorkerMetrics(reg), EngineMetrics(reg), state.rooms)
    high = {0: 20, 1: 104}
    batches = [
        [((TOPIC, 0), records([m for m, _ in PARTITION_0])),
         ((TOPIC, 1), records([m for m, _ in PARTITION_1], start=100))],
        [((TOPIC, 0), records([m for m, _ in AGAIN_0], start=len(PARTITION_0)))],
    ]
    for parts in batches:
        p = prepare(parts, state, BatchFolder(SETTINGS, state.rooms.product), POLICY, HNOW)
        accounting.batch(p, lambda topic, part: high[part], time.perf_counter(), HNOW)

    get = reg.get_sample_value
    fates = {0: PARTITION_0 + AGAIN_0, 1: PARTITION_1}
    for part, sent in fates.items():
        labels = {"topic": TOPIC, "partition": str(part)}
        outcome = Counter(f for _, f in sent)
        consumed = get("roompulse_worker_consumed_total", labels)
        processed = get("roompulse_worker_processed_total", labels)
        dead = get("roompulse_worker_dead_lettered_total", labels) or 0.0
        assert consumed == len(sent)
        assert processed + dead == consumed
        assert processed == outcome["ok"] + outcome["duplicate"]
        assert get("roompulse_worker_duplicates_total", labels) == outcome["duplicate"]
    assert get("roompulse_worker_consumer_lag", {"topic": TOPIC, "partition": "0"}) == \
        high[0] - len(PARTITION_0 + AGAIN_0)
    assert get("roompulse_worker_consumer_lag", {"topic": TOPIC, "partition": "1"}) == 0
    reasons = Counter(f for _, f in PARTITION_0 + PARTITION_1 + AGAIN_0 if f not in FOLDED)
    for reason, n in reasons.items():
        assert get("roompulse_worker_dead_letters_total", {"reason": reason}) == n, reason
    ok = sum(1 for _, f in PARTITION_0 + PARTITION_1 + AGAIN_0 if f == "ok")
    assert get("roompulse_worker_events_total", {"type": "like"}) == ok
    assert get("roompulse_worker_rooms_refused_total") == reasons["room_limit"]
    assert get("roompulse_worker_seconds_since_last_apply") >= 0
