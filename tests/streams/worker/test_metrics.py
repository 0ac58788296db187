"""Worker metrics: the scrape-time KPI collector exports room KPIs and only the top-N products."""

from __future__ import annotations

import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from schemas.events import EVENT_ADAPTER
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_memory import InMemoryKpiStore
from streams.worker.metrics import KpiCollector, WorkerMetrics

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


def test_partition_counts_keep_processed_plus_dead_equal_consumed() -> None:
    m = WorkerMetrics(CollectorRegistry())
    m.count_partition("t", 0, consumed=10, processed=7, dead=3, duplicates=2)
    get = m.registry.get_sample_value
    labels = {"topic": "t", "partition": "0"}
    assert get("roompulse_worker_consumed_total", labels) == 10
    assert get("roompulse_worker_processed_total", labels) + get(
        "roompulse_worker_dead_lettered_total", labels) == 10
    assert get("roompulse_worker_duplicates_total", labels) == 2
    assert get("roompulse_worker_seconds_since_last_apply") >= 0
