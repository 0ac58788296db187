"""`roompulse worker` writes history on its leader timer and serves it at /api/broadcasts."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import pytest

from streams.produce import EventProducer
from streams.simulator import SimConfig, run_simulation
from tests.streams.worker.procs import WorkerProc, new_group, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def _json(http: aiohttp.ClientSession, url: str):
    async with http.get(url) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_worker_writes_history_and_serves_reports(stack, topic_settings, tmp_path):
    env = worker_env(stack, topic_settings, f"k{uuid.uuid4().hex[:10]}", new_group(),
                     ROOMPULSE_HISTORY_DIR=str(tmp_path), ROOMPULSE_HISTORY_INTERVAL_S="1")
    proc = WorkerProc(env)
    try:
        await proc.wait_ready()
        now = int(time.time() * 1000)
        start = now - now % 60_000 - 21 * 60_000  # a 20-minute broadcast that just ended
        cfg = SimConfig(start_ms=start, rooms=1, seed=5, duration_min=20, exposures_per_min=40)
        async with EventProducer(stack.kafka, topic_settings) as producer:
            truth = (await run_simulation(cfg, producer)).to_json()["rooms"]["room-1"]
        bid = f"room-1@{start}"
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            report = None
            while time.monotonic() < deadline:
                listed = (await _json(http, proc.url + "/api/broadcasts"))["broadcasts"]
                if [b["broadcast_id"] for b in listed] == [bid]:
                    report = await _json(http, f"{proc.url}/api/broadcasts/{bid}/report")
                    if report["broadcast"]["minutes"] == 20 and \
                            round(report["gmv"] * 100) == truth["totals"]["net_cents"]:
                        break
                await asyncio.sleep(0.5)
            assert report is not None, proc.output()
            assert report["broadcast"]["minutes"] == 20, proc.output()
            assert round(report["gmv"] * 100) == truth["totals"]["net_cents"]
            assert report["orders"] == truth["totals"]["paid_orders"]
            # attribution is off by default: no regions, and the page says how to get them
            assert report["audience"] == "off" and report["regions"] == []
            async with http.get(f"{proc.url}/api/broadcasts/{bid}/report?format=html") as r:
                html = await r.text()
                assert r.status == 200 and "直播复盘报告" in html
                assert "ROOMPULSE_KPI_AUDIENCE=true" in html
            # the console's Reports page is there too (and wants a console login)
            async with http.get(f"{proc.url}/console/api/reports", allow_redirects=False) as r:
                assert r.status == 302, await r.text()
    finally:
        proc.stop()
    assert (tmp_path / "history.sqlite3").exists()
