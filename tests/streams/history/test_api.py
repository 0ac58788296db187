"""GET /api/broadcasts and /api/broadcasts/{id}/report over real HTTP on 127.0.0.1."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from aiohttp import web
from pydantic import SecretStr

from alerts.targets import Targets
from streams.history.api import ReportApi, add_report_routes
from streams.history.lookup import save_data
from streams.history.settings import HistorySettings
from streams.report.make import render, report_from_data
from streams.worker.apisettings import ApiSettings

TOKEN = "t0ken-for-tests"
# the server fixture runs on the session loop (asyncio_default_fixture_loop_scope)
pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def server(history, recorded_data):
    save_data(history, recorded_data)
    api = ReportApi(HistorySettings(), ApiSettings(tokens=SecretStr(TOKEN)), store=history)
    app = web.Application()
    add_report_routes(app, api)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        api._pool.shutdown(wait=True)


async def _get(url: str, token: str | None = TOKEN) -> tuple[int, dict, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as s, s.get(url, headers=headers) as r:
        return r.status, dict(r.headers), await r.read()


async def test_list_and_report(server, recorded_data):
    status, _, body = await _get(server + "/api/broadcasts?room=room-1")
    assert status == 200
    (b,) = orjson.loads(body)["broadcasts"]
    bid = recorded_data["summary"]["broadcast_id"]
    assert b["broadcast_id"] == bid and b["day"] == "2026-01-01"
    status, _, body = await _get(f"{server}/api/broadcasts/{bid}/report")
    assert status == 200
    alone = {**recorded_data, "earlier": []}  # no broadcast of the room before it
    assert body == render(report_from_data(alone, Targets.load()), "json")
    assert orjson.loads(body)["compare"]["history_n"] == 0
    status, headers, body = await _get(f"{server}/api/broadcasts/{bid}/report?format=html&lang=en")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert body == render(report_from_data(alone, Targets.load(), "en"), "html")


async def test_errors(server):
    assert (await _get(server + "/api/broadcasts", token=None))[0] == 401
    assert (await _get(server + "/api/broadcasts", token="wrong"))[0] == 401
    assert (await _get(server + "/api/broadcasts?limit=0"))[0] == 400
    assert (await _get(server + "/api/broadcasts?limit=x"))[0] == 400
    assert (await _get(server + "/api/broadcasts/nope@1/report"))[0] == 404
    assert (await _get(server + "/api/broadcasts/nope@1/report?format=pdf"))[0] == 400
