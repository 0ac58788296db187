"""The live history writer, fed a broadcast minute by minute, stores what the report needs."""

from __future__ import annotations

import time

import pytest
from prometheus_client import CollectorRegistry

from alerts.targets import Targets
from streams.history.settings import HistorySettings
from streams.history.store import HistoryStore
from streams.history.writer import HistoryWriter
from streams.kpi.store_memory import InMemoryKpiStore
from streams.report.make import render, report_from_data
from streams.report.recording import collect

# The writer reads a minute a pass later than the recording path: the stage and the pin may
# have moved on (the host may not: see test_hosts).
STATE_KEYS = ("stage", "phase", "pin_id", "pin_name", "pin_role")


def _figures(minute: dict) -> dict:
    return {k: v for k, v in minute.items() if k not in STATE_KEYS}


async def test_writer_stores_every_minute_and_the_summary(history, recorded, recorded_data):
    kpis = InMemoryKpiStore()
    registry = CollectorRegistry()
    writer = HistoryWriter(kpis, HistorySettings(), registry=registry, store=history)
    ticks = []

    async def tick() -> None:
        ticks.append(await writer.tick())

    await collect(recorded[0], "room-1", store=kpis, after_minute=tick)
    await writer.close()
    assert sum(ticks) == len(ticks) > 80  # each pass wrote the room
    bid = recorded_data["summary"]["broadcast_id"]
    stored = history.load(bid)
    assert [_figures(m) for m in stored["minutes"]] == \
        [_figures(m) for m in recorded_data["minutes"]]
    for key in ("room", "products", "sources", "start_ms", "end_ms", "brand_id"):
        assert stored["summary"][key] == recorded_data["summary"][key], key
    # a minute keeps the stage it closed with: every stage of the broadcast is there, in order
    stages = [m["stage"] for m in stored["minutes"]]
    assert stages[0] == "traffic" and stages[-1] == "retention"
    report = report_from_data(stored, Targets.load())
    direct = report_from_data(recorded_data, Targets.load())
    for key in ("gmv", "orders", "uv", "pcu", "roi", "funnel", "products", "series"):
        assert report[key] == direct[key], key
    # the live store keeps no buyer's source: shares and entry rates only
    live_keys = ("source", "exposures", "entries", "share", "entry_rate", "label")
    assert [{k: s[k] for k in live_keys} for s in report["sources"]] == \
        [{k: s[k] for k in live_keys} for s in direct["sources"]]
    assert report["regions"] == [] and report["alerts"] == []
    written = registry.get_sample_value("roompulse_history_rows_written_total", {"kind": "minute"})
    assert written >= len(recorded_data["minutes"])
    assert registry.get_sample_value("roompulse_history_last_success_timestamp_seconds") > 0


class _Broken(HistoryStore):
    def __init__(self) -> None:  # no database at all
        self.calls = 0

    def save(self, *a, **kw) -> None:
        from streams.history.db import HistoryError

        self.calls += 1
        raise HistoryError("history at postgresql://h/db: OperationalError: gone", True)

    minute_states = save  # a pass's first call (what stored minutes kept) fails the same way

    def close(self) -> None:
        pass


async def test_a_failing_database_is_counted_and_never_raises(recorded):
    kpis = InMemoryKpiStore()
    registry = CollectorRegistry()
    broken = _Broken()
    writer = HistoryWriter(kpis, HistorySettings(), registry=registry, store=broken)
    results = []

    async def tick() -> None:
        t0 = time.monotonic()
        results.append(await writer.tick())
        assert time.monotonic() - t0 < 5
        writer._store = broken  # the writer dropped the connection; hand it the same one back

    await collect(recorded[0], "room-1", store=kpis, after_minute=tick)
    await writer.close()
    assert set(results) == {0} and broken.calls == len(results)
    assert registry.get_sample_value("roompulse_history_failures_total",
                                     {"retryable": "true"}) == len(results)


async def test_alert_timeline_from_the_console_feed(history, recorded, recorded_data):
    from alerts.sinks.console import MemoryConsoleFeed
    from tests.streams.console.conftest import make_alert

    feed = MemoryConsoleFeed()
    kpis = InMemoryKpiStore()
    writer = HistoryWriter(kpis, HistorySettings(), registry=CollectorRegistry(), store=history,
                           feed=feed)
    start = recorded_data["summary"]["start_ms"]
    fired_at = start + 10 * 60_000
    passes = 0

    async def tick() -> None:
        nonlocal passes
        passes += 1
        if passes == 11:
            await feed.send([make_alert(starts_at=fired_at),
                             make_alert(room="room-9", starts_at=fired_at)])
            await feed.ack(make_alert(starts_at=fired_at).fingerprint, "alice",
                           now_ms=fired_at + 90_000)
        if passes == 20:
            await feed.send([make_alert(starts_at=fired_at, state="resolved")])
        await writer.tick()

    await collect(recorded[0], "room-1", store=kpis, after_minute=tick)
    stored = history.load(recorded_data["summary"]["broadcast_id"])
    timeline = stored["summary"]["alerts"]
    assert [(a["state"], a["at"]) for a in timeline] == [
        ("fired", fired_at), ("acknowledged", fired_at + 90_000),
        ("resolved", fired_at + 120_000)]
    assert timeline[1]["by"] == "alice" and timeline[1]["time_to_ack_ms"] == 90_000
    report = report_from_data(stored, Targets.load())
    assert report["alerts_summary"] == {"fired": 1, "acknowledged": 1,
                                        "median_time_to_ack_ms": 90_000}
    # the CTR in the 10 minutes after the acknowledgement against the 10 before
    ack_at = fired_at + 90_000
    rows = recorded_data["minutes"]

    def ctr(lo: int, hi: int) -> float:
        sel = [m for m in rows if lo <= m["minute_ms"] < hi]
        return sum(m["product_clicks"] for m in sel) / sum(m["product_exposures"] for m in sel)

    effect = report["alerts"][1]["effect"]
    assert effect["kpi"] == "ctr" and effect["minutes_before"] == effect["minutes_after"] == 10
    assert effect["before"] == pytest.approx(ctr(ack_at - 600_000, ack_at))
    assert effect["after"] == pytest.approx(ctr(ack_at, ack_at + 600_000))
    assert "ctr " in render(report, "html").decode()


async def test_a_pass_over_its_budget_leaves_the_rest_for_the_next_in_turn(history):
    """Thousands of live rooms must not hold a pass (and the event loop) for minutes: a pass
    stops at its budget, counts what it left, and the next one starts there."""
    from streams.kpi.fold import BatchFolder
    from tests.streams.kpi.factory import T0, ev

    kpis = InMemoryKpiStore()
    folder = BatchFolder(kpis.settings)
    for r in range(5):
        folder.add(ev("broadcast_start", 0, room=f"room-{r}", user=None))
        folder.add(ev("enter", 90_000, room=f"room-{r}", source="recommend"))
    assert await kpis.apply(folder.take(), {("t", 0): 10}, "g", T0)
    registry = CollectorRegistry()
    settings = HistorySettings(pass_budget_s=1e-9)  # every pass stops after its first room
    writer = HistoryWriter(kpis, settings, registry=registry, store=history)
    written = [await writer.tick() for _ in range(5)]
    await writer.close()
    assert written == [1, 1, 1, 1, 1]
    assert registry.get_sample_value("roompulse_history_rooms_deferred") == 4
    stored = {b["room_id"] for b in history.broadcasts()}
    assert stored == {f"room-{r}" for r in range(5)}  # in turn, each room got its pass
