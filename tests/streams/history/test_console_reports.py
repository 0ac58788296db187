"""The console's Reports page and session-checked report routes, on a real server."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from aiohttp import web
from pydantic import SecretStr

from alerts.sinks.console import MemoryConsoleFeed
from alerts.targets import Targets
from streams.console.install import add_console
from streams.console.settings import ConsoleSettings
from streams.console.silencing import AlertSilences
from streams.history.api import ReportApi
from streams.history.console_reports import add_console_reports
from streams.history.lookup import save_data
from streams.history.settings import HistorySettings
from streams.kpi.store_memory import InMemoryKpiStore
from streams.report.make import render, report_from_data
from streams.stack import free_port
from tests.streams.console.conftest import SESSION_SECRET, VIEWER_TOKEN

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def settings() -> ConsoleSettings:
    return ConsoleSettings(viewer_tokens={"bob": SecretStr(VIEWER_TOKEN)},
                           session_secret=SecretStr(SESSION_SECRET))


@pytest.fixture
async def console(settings, history, recorded_data):
    save_data(history, recorded_data)
    app = web.Application()
    ctx = add_console(app, store=InMemoryKpiStore(), feed=MemoryConsoleFeed(),
                      silences=AlertSilences(), settings=settings)
    api = ReportApi(HistorySettings(), store=history)
    add_console_reports(app, ctx, api)
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}{ctx.base}"
    finally:
        await runner.cleanup()
        api._pool.shutdown(wait=True)


async def test_reports_need_a_console_login(console):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{console}/api/broadcasts") as r:
            assert r.status == 401
        async with http.get(f"{console}/api/reports", allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/console/"


async def test_a_viewer_lists_and_opens_reports(console, recorded_data):
    bid = recorded_data["summary"]["broadcast_id"]
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     timeout=timeout) as http:
        async with http.post(f"{console}/api/login", json={"token": VIEWER_TOKEN}) as r:
            assert r.status == 200
        async with http.get(f"{console}/api/broadcasts") as r:
            assert [b["broadcast_id"] for b in (await r.json())["broadcasts"]] == [bid]
        async with http.get(f"{console}/api/reports") as r:
            page = await r.text()
            assert r.status == 200 and "<script" not in page
            assert "style-src 'unsafe-inline'" in r.headers["Content-Security-Policy"]
        link = f"/console/api/broadcasts/{bid.replace('@', '%40')}/report?format=html&lang=zh-CN"
        assert link in page
        async with http.get(f"http://{r.url.host}:{r.url.port}{link}") as r:
            html = await r.read()
            assert r.status == 200 and "default-src 'none'" in r.headers["Content-Security-Policy"]
        alone = {**recorded_data, "earlier": []}
        assert html == render(report_from_data(alone, Targets.load()), "html")
        async with http.get(f"{console}/api/broadcasts/{bid}/report") as r:
            assert orjson.loads(await r.read())["uv"] == report_from_data(
                alone, Targets.load())["uv"]
