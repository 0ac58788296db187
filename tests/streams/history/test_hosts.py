"""Host segments and the product-role mix from live history (SQLite and PostgreSQL) equal the
simulator's truth and the report made from the recording."""

from __future__ import annotations

from collections import defaultdict

import pytest
from prometheus_client import CollectorRegistry

from alerts.targets import Targets
from schemas.kpis import RoomState
from streams.history.settings import HistorySettings
from streams.history.snapshot import MINUTE_MS, state_fields
from streams.history.writer import HistoryWriter
from streams.kpi.store_memory import InMemoryKpiStore
from streams.report.make import render, report_from_data
from streams.report.minute_segments import hosts_from_minutes
from streams.report.recording import collect
from streams.simulator.hosts import host_plan
from tests.streams.report.conftest import START_MS

ROOM = "room-1"


async def _write(history, recording, stop_after: int | None = None) -> None:
    """Feed the recording minute by minute to a live writer; `stop_after` passes, a restart
    (a new writer on the same history) takes over."""
    kpis = InMemoryKpiStore()
    writers = [HistoryWriter(kpis, HistorySettings(), registry=CollectorRegistry(),
                             store=history)]
    passes = 0

    async def tick() -> None:
        nonlocal passes
        passes += 1
        if passes == stop_after:
            await writers[-1].close()
            writers.append(HistoryWriter(kpis, HistorySettings(), registry=CollectorRegistry(),
                                         store=history))
        assert await writers[-1].tick() == 1

    await collect(recording, ROOM, store=kpis, after_minute=tick)
    await writers[-1].close()


def _truth_hosts(truth: dict) -> dict[str, dict]:
    """Per host, from the truth's minutes and the simulator's host plan."""
    plan = host_plan(11, ROOM, START_MS, 90)  # tests.streams.history.conftest.recorded
    out: dict[str, dict] = defaultdict(lambda: {"minutes": 0, "gmv_cents": 0, "entries": 0,
                                                "orders": 0})
    for minute, m in truth["rooms"][ROOM]["minutes"].items():
        host = [h for ts, h, _ in plan if ts < int(minute) + MINUTE_MS][-1]
        out[host]["minutes"] += 1
        out[host]["gmv_cents"] += m["net_cents"]
        out[host]["entries"] += m["counts"].get("enter", 0)
        out[host]["orders"] += m["paid_orders"]
    return out


async def test_hosts_from_live_history_equal_the_truth_and_the_recording(history, recorded,
                                                                         recorded_data):
    await _write(history, recorded[0])
    stored = history.load(recorded_data["summary"]["broadcast_id"])
    # every minute row names the host on air as the recording's does (the writer reads a
    # minute a pass later, after the next host may have taken over)
    assert [(m["host_id"], m["host_name"]) for m in stored["minutes"]] == \
        [(m["host_id"], m["host_name"]) for m in recorded_data["minutes"]]
    targets = Targets.load()
    live = {h["host_id"]: h for h in report_from_data(stored, targets)["hosts"]}
    direct = {h["host_id"]: h for h in report_from_data(recorded_data, targets)["hosts"]}
    truth = _truth_hosts(recorded[1])
    assert set(live) == set(direct) == set(truth) == {"h-ai", "h-lin", "h-ajie"}
    for hid, t in truth.items():
        h, d = live[hid], direct[hid]
        assert h["basis"] == "minutes" and d["basis"] == "events"
        assert h["host_name"] == d["host_name"]
        assert h["minutes"] == t["minutes"]
        assert round(h["gmv"] * 100) == round(d["gmv"] * 100) == t["gmv_cents"] > 0
        assert h["entries"] == d["entries"] == t["entries"]
        assert h["orders"] == d["orders"] == t["orders"]
        # the recording counts on-air time to the ms: the first host from start + 3 ms, the
        # last to the end - 1 ms
        assert h["minutes"] == pytest.approx(d["minutes"], abs=0.001)
        assert h["gmv_per_minute"] == pytest.approx(d["gmv_per_minute"], rel=1e-4)
        # distinct viewers add up minute by minute: close to the events' distinct counts for
        # conversion (viewers rarely buy in two minutes), higher for interaction
        assert h["conversion"] == pytest.approx(d["conversion"], abs=0.01)
        assert h["interaction_rate"] >= d["interaction_rate"] * 0.95
    assert sum(h["minutes"] for h in live.values()) == len(stored["minutes"])
    page = render(report_from_data(stored, targets), "html").decode()
    assert 'id="hosts"' in page and "h-ai" not in page and "AI 虚拟主播" in page


async def test_a_restarted_writer_keeps_the_state_stored_minutes_closed_with(history, recorded,
                                                                             recorded_data):
    bid = recorded_data["summary"]["broadcast_id"]
    await _write(history, recorded[0])
    keys = ("stage", "phase", "pin_id", "pin_role", "host_id", "host_name")
    whole = [{k: m[k] for k in keys} for m in history.load(bid)["minutes"]]
    history.db.execute("DELETE FROM roompulse_minutes")
    # pass 40 is mid-segment of the third host (minutes 29-50): the new writer rewrites the
    # last 30 minutes (backfill_minutes), two host changes and a stage change among them
    await _write(history, recorded[0], stop_after=40)
    restarted = [{k: m[k] for k in keys} for m in history.load(bid)["minutes"]]
    assert restarted == whole
    assert [m["host_id"] for m in restarted] == [m["host_id"] for m in recorded_data["minutes"]]


def test_product_roles_from_history_equal_the_recordings(history, recorded, recorded_data):
    from streams.history.lookup import save_data

    stripped = {"summary": {k: v for k, v in recorded_data["summary"].items()
                            if k not in ("hosts", "product_roles")},
                "minutes": recorded_data["minutes"]}
    save_data(history, stripped)  # as the live writer stores it: no event-made sections
    stored = history.load(stripped["summary"]["broadcast_id"])
    targets = Targets.load()
    live = report_from_data(stored, targets)["product_roles"]
    direct = report_from_data(recorded_data, targets)["product_roles"]
    assert live == direct and {r["role"] for r in live} == {"traffic", "profit", "strategic"}
    assert sum(r["products"] for r in live) >= 5


def test_a_host_who_took_over_after_the_minute_leaves_it_to_the_one_before():
    state = RoomState(room_id=ROOM, host_id="h-2", host_name="B", host_since_ms=120_000)
    before = {"host_id": "h-1", "host_name": "A"}
    assert state_fields(state, 60_000, before)["host_id"] == "h-1"
    assert state_fields(state, 60_000, None)["host_id"] is None  # unknown, not the wrong one
    assert state_fields(state, 120_000, before)["host_id"] == "h-2"
    assert state_fields(state, 180_000, before)["host_name"] == "B"


def test_rows_without_hosts_give_no_host_section():
    rows = [{"minute_ms": 0, "gmv": 5.0, "uv": 3}, {"minute_ms": 60_000, "gmv": 1.0}]
    assert hosts_from_minutes(rows) == []
