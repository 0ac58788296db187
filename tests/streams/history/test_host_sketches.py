"""Per-host distinct users from live history (valkey-server, one node and a Cluster): the
writer's per-host HyperLogLogs give each host's UV, interaction rate and conversion as the
events do (the recording's report), where adding the minutes' distinct counts is far off; a
restarted writer and rewrite passes leave them unchanged."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from alerts.targets import Targets
from streams.history.host_sketches import KINDS, HostSketches
from streams.history.settings import HistorySettings
from streams.history.store import HistoryStore
from streams.history.writer import HistoryWriter
from streams.kpi.config import KpiSettings
from streams.kpi.keys import Keys
from streams.kpi.store_cluster import kpi_store
from streams.report.make import data_from_recording, render, report_from_data
from streams.report.minute_segments import hosts_from_minutes
from streams.report.recording import collect
from streams.report.texts import tr
from streams.simulator import record
from streams.worker.app import redis_client
from tests.streams.report.conftest import sim_config

pytestmark = pytest.mark.integration
ROOM = "room-1"
MINUTES = 90
RATES = ("interaction_rate", "conversion")


def _by_host(hosts: list[dict]) -> dict[str, dict]:
    return {h["host_id"]: h for h in hosts}


def _registry_value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_host_rates_from_history_match_the_events(redis_settings, tmp_path):
    # a broadcast that ended just now, so every key is within its Redis TTL
    start = int(time.time() * 1000) - (MINUTES + 1) * 60_000
    path = tmp_path / "live.jsonl"
    record(sim_config(rooms=1, duration_min=MINUTES, scenarios=(),
                      start_ms=start - start % 60_000), path)
    client = redis_client(redis_settings)
    history = HistoryStore.open(HistorySettings(dir=tmp_path))
    registries: list[CollectorRegistry] = []

    def writer() -> HistoryWriter:
        registries.append(CollectorRegistry())
        return HistoryWriter(kpis, HistorySettings(), registry=registries[-1], store=history)

    try:
        kpis = kpi_store(client, KpiSettings(key_prefix=f"s{uuid.uuid4().hex[:10]}"))
        writers = [writer()]
        passes = 0

        async def tick() -> None:
            nonlocal passes
            passes += 1
            if passes == 40:  # a restart mid-broadcast: the new writer merges 30 minutes again
                await writers[-1].close()
                writers.append(writer())
            assert await writers[-1].tick() == 1

        await collect(path, ROOM, store=kpis, after_minute=tick)
        (b,) = history.broadcasts()
        stored = history.load(b["broadcast_id"])
        counts = stored["summary"]["hosts_distinct"]
        # rewrite passes of the same writer, then a new one (every minute merged again)
        assert await writers[-1].tick() == 1
        await writers[-1].close()
        again = writer()
        assert await again.tick() == 1
        await again.close()
        rewritten = history.load(b["broadcast_id"])["summary"]["hosts_distinct"]
        exact = await data_from_recording(path, ROOM, alerts=False)
    finally:
        await client.aclose()
        history.close()
    assert rewritten == counts  # PFMERGE again changes no register
    targets = Targets.load()
    live = _by_host(report_from_data(stored, targets)["hosts"])
    direct = _by_host(report_from_data(exact, targets)["hosts"])
    summed = _by_host(hosts_from_minutes(stored["minutes"]))  # without the sketches
    assert set(live) == set(direct) == set(counts) == {"h-ai", "h-lin", "h-ajie"}
    for hid, d in direct.items():
        h, s = live[hid], summed[hid]
        assert h["basis"] == "sketch" and s["basis"] == "minutes" and d["basis"] == "events"
        assert h["entries"] == d["entries"] and h["orders"] == d["orders"]
        assert h["uv"] == pytest.approx(d["uv"], rel=0.02)
        for rate in RATES:
            assert h[rate] == pytest.approx(d[rate], rel=0.02), (hid, rate)
    worst = max(abs(summed[hid]["interaction_rate"] / d["interaction_rate"] - 1)
                for hid, d in direct.items())
    assert worst > 0.2
    # each minute is merged when new, once more when written for the last time and with the
    # rows before a summary (three rewritten minutes each pass would be four times)
    merged = sum(_registry_value(r, "roompulse_history_host_sketch_minutes_total",
                                 outcome="merged") for r in registries)
    assert MINUTES * 2 <= merged <= MINUTES * 2 + 2 * 30 + 10
    assert not any(_registry_value(r, "roompulse_history_host_sketch_failures_total")
                   for r in registries)
    page = render(report_from_data(stored, targets), "html").decode()
    assert tr("zh-CN")("hosts_sketch") in page and tr("zh-CN")("hosts_minutes") not in page


async def test_a_failed_merge_is_counted_and_the_summary_keeps_the_counts_read_before():
    with socket.socket() as sock:  # a port nothing listens on: the connection is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = aioredis.Redis(port=port, socket_connect_timeout=1)
    registry = CollectorRegistry()
    sketches = HostSketches(client, Keys("t"), 10_000, 60, 2, registry)
    before = {"h": {"uv": 3, "interacting": 1, "buyers": 0}}
    sketches._last["b"] = before
    sketches.add("r", 0, "b", [{"minute_ms": 0, "host_id": "h"}])
    try:
        assert await sketches.flush(("r", 0, "b")) == before
        sketches.add("r", 0, "other", [{"minute_ms": 0, "host_id": "h"}])
        assert await sketches.flush(("r", 0, "other")) is None  # nothing read before
    finally:
        await client.aclose()
    assert registry.get_sample_value("roompulse_history_host_sketch_failures_total") == 2
    assert sketches._pending == []  # not kept: the minutes are merged again on a later pass


def test_a_minute_merges_its_fine_buckets_into_the_hosts_sketches_within_the_bound():
    registry = CollectorRegistry()
    keys = Keys("t")
    sketches = HostSketches(None, keys, 10_000, 60, 2, registry)
    rows = [{"minute_ms": 60_000, "host_id": "a"}, {"minute_ms": 120_000, "host_id": "b"},
            {"minute_ms": 180_000, "host_id": "c"}, {"minute_ms": 240_000, "host_id": None}]
    sketches.add("r", 5, "r@5", rows)
    dests = {dest: sources for dest, sources in sketches._pending}
    assert set(dests) == {keys.host_sketch("r", 5, kind, h) for kind in KINDS.values()
                          for h in ("a", "b")}
    assert dests[keys.host_sketch("r", 5, "uv", "a")] == \
        [keys.hll("r", "f", b, "uv") for b in range(60_000, 120_000, 10_000)]
    # one slot on a Cluster: every key carries the room's hash tag
    assert all("{r}" in k for d, s in dests.items() for k in [d, *s])
    assert registry.get_sample_value("roompulse_history_host_sketch_minutes_total",
                                     {"outcome": "over_bound"}) == 1
    assert registry.get_sample_value("roompulse_history_host_sketch_minutes_total",
                                     {"outcome": "merged"}) == 2


def test_hosts_without_a_sketch_keep_the_minutes_sums():
    rows = [{"minute_ms": 0, "host_id": "a", "uv": 5, "interacting": 2, "buyers": 1},
            {"minute_ms": 60_000, "host_id": "a", "uv": 5, "interacting": 2, "buyers": 0},
            {"minute_ms": 120_000, "host_id": "b", "uv": 4, "interacting": 1, "buyers": 1}]
    hosts = _by_host(hosts_from_minutes(rows, {"a": {"uv": 6, "interacting": 3, "buyers": 1},
                                               "b": {"uv": 0, "interacting": 0, "buyers": 0}}))
    assert hosts["a"]["basis"] == "sketch" and hosts["a"]["uv"] == 6
    assert hosts["a"]["interaction_rate"] == 0.5 and hosts["a"]["conversion"] == 1 / 6
    # an expired (empty) sketch is no count: the minutes' sums stand
    assert hosts["b"]["basis"] == "minutes" and hosts["b"]["uv"] == 4
    assert _by_host(hosts_from_minutes(rows))["a"]["uv"] == 10
