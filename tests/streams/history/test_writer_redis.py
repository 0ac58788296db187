"""The history writer over the real KPI store (valkey-server, one node and a Cluster): a live
broadcast's minutes and summary land in history, counts exact, distinct counts within the
HyperLogLog error."""

from __future__ import annotations

import time
import uuid

import pytest
from prometheus_client import CollectorRegistry

from alerts.targets import Targets
from streams.history.settings import HistorySettings
from streams.history.store import HistoryStore
from streams.history.writer import HistoryWriter
from streams.kpi.config import KpiSettings
from streams.kpi.store_cluster import kpi_store
from streams.report.make import data_from_recording, report_from_data
from streams.report.recording import collect
from streams.simulator import record
from streams.worker.app import redis_client
from tests.streams.report.conftest import sim_config

pytestmark = pytest.mark.integration
EXACT = ("exposures", "entries", "online", "watch_ms", "orders", "gmv", "ad_spend",
         "product_clicks", "product_exposures", "cart_adds", "sources")


async def test_writer_over_redis(redis_settings, tmp_path):
    # a broadcast that ended just now, so every key is within its Redis TTL
    start = int(time.time() * 1000) - 61 * 60_000
    path = tmp_path / "live.jsonl"
    record(sim_config(rooms=1, duration_min=60, scenarios=(), start_ms=start - start % 60_000),
           path)
    client = redis_client(redis_settings)
    history = HistoryStore.open(HistorySettings(dir=tmp_path))
    try:
        kpis = kpi_store(client, KpiSettings(key_prefix=f"h{uuid.uuid4().hex[:10]}"))
        writer = HistoryWriter(kpis, HistorySettings(), registry=CollectorRegistry(),
                               store=history)
        await collect(path, "room-1", store=kpis, after_minute=writer.tick)
        await writer.close()
        exact = await data_from_recording(path, "room-1", alerts=False)
        (b,) = history.broadcasts()
        stored = history.load(b["broadcast_id"])
    finally:
        await client.aclose()
        history.close()
    assert b["broadcast_id"] == exact["summary"]["broadcast_id"]
    assert len(stored["minutes"]) == len(exact["minutes"]) == 60
    for got, want in zip(stored["minutes"], exact["minutes"], strict=True):
        assert {k: got[k] for k in EXACT} == {k: want[k] for k in EXACT}, got["minute_ms"]
        assert got["uv"] == pytest.approx(want["uv"], rel=0.03, abs=1)
    report = report_from_data(stored, Targets.load())
    direct = report_from_data(exact, Targets.load())
    for key in ("gmv", "orders", "pcu", "roi", "ad_spend", "series"):
        assert report[key] == direct[key], key
    assert report["uv"] == pytest.approx(direct["uv"], rel=0.02)
