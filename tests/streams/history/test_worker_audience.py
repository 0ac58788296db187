"""Live audience attribution end to end: a worker killed halfway through a broadcast and a
new one that takes over write history whose report has the same regions, age bands and
per-source conversion as the report made from the broadcast's recording (whose per-viewer join
is computed independently, streams.report.audience.Audience)."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import pytest

from alerts.targets import Targets
from streams.produce import EventProducer
from streams.report.make import data_from_recording, report_from_data
from streams.simulator import SimConfig
from streams.simulator.runner import record, replay
from tests.streams.worker.procs import WorkerProc, new_group, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
AUDIENCE = ("regions", "age_bands")


async def _report(http: aiohttp.ClientSession, url: str, bid: str) -> dict | None:
    async with http.get(f"{url}/api/broadcasts/{bid}/report") as r:
        return await r.json() if r.status == 200 else None


async def _feed(stack, topics, proc: WorkerProc, half, bid: str, done, timeout: float
                ) -> dict | None:
    """Replay `half`, then poll `proc`'s history report of `bid` until `done(report)`."""
    async with EventProducer(stack.kafka, topics) as producer:
        await replay(half, producer)
    report = None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = await _report(http, proc.url, bid)
            if report is not None and done(report):
                break
            await asyncio.sleep(0.3)
    return report


async def test_a_restarted_worker_attributes_like_the_recording(stack, topic_settings,
                                                                tmp_path):
    now = int(time.time() * 1000)
    start = now - now % 60_000 - 21 * 60_000  # a 20-minute broadcast that just ended
    cfg = SimConfig(start_ms=start, rooms=1, seed=11, duration_min=20, exposures_per_min=60)
    path = tmp_path / "b.jsonl"
    truth = record(cfg, path).to_json()["rooms"]["room-1"]
    lines = path.read_bytes().splitlines(keepends=True)
    halves = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    halves[0].write_bytes(b"".join(lines[:len(lines) // 2]))
    halves[1].write_bytes(b"".join(lines[len(lines) // 2:]))
    env = worker_env(stack, topic_settings, f"k{uuid.uuid4().hex[:10]}", new_group(),
                     ROOMPULSE_HISTORY_DIR=str(tmp_path), ROOMPULSE_HISTORY_INTERVAL_S="1",
                     ROOMPULSE_KPI_AUDIENCE="true")
    bid = f"room-1@{start}"
    first = WorkerProc(env)
    try:
        await first.wait_ready()
        await _feed(stack, topic_settings, first, halves[0], bid, lambda _: True, 30)
        first.kill()  # mid-broadcast, whatever it was doing
    finally:
        first.stop()
    second = WorkerProc(env)
    try:
        await second.wait_ready()
        live = await _feed(stack, topic_settings, second, halves[1], bid,
                           lambda r: r["broadcast"]["minutes"] == 20
                           and round(r["gmv"] * 100) == truth["totals"]["net_cents"], 60)
        assert live is not None, second.output()
        assert round(live["gmv"] * 100) == truth["totals"]["net_cents"], second.output()
    finally:
        second.stop()
    data = await data_from_recording(path, "room-1", alerts=False)
    want = report_from_data(data, Targets.load())
    assert len(want["regions"]) >= 5 and len(want["age_bands"]) >= 3
    for key in AUDIENCE:
        assert live[key] == want[key], key
    assert [(s["source"], s["conversion"]) for s in live["sources"]] == \
        [(s["source"], s["conversion"]) for s in want["sources"]]
    assert any(s["conversion"] for s in want["sources"])
    assert "audience_untracked" not in live
    assert (live["audience"], want["audience"]) == ("live", "recording")
