"""The live-rooms bench's probes: /healthz measured on the probe port and on the web port, each
against a real server, and reported as two figures."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from streams.bench.probes import Probes
from streams.stack import free_port
from streams.worker.looplag import LoopLag
from streams.worker.probes import LoopProbes
from streams.worker.probeserver import ProbeServer
from tests.streams.rooms import serve


async def test_healthz_goes_to_the_probe_port_and_healthz_web_to_the_web_port() -> None:
    web_hits = {"/healthz": 0}

    async def healthz(request: web.Request) -> web.Response:
        web_hits["/healthz"] += 1
        return web.json_response({"status": "ok"})

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="")

    async def no_problems() -> list[str]:
        return []

    registry = CollectorRegistry()
    lag = LoopLag(CollectorRegistry(), interval_s=0.05)
    task = asyncio.create_task(lag.run())
    server = ProbeServer(LoopProbes(lag, no_problems, stale_s=10, every_s=1, max_age_s=5),
                         "127.0.0.1", free_port(), registry=registry)
    server.start()
    routes = [web.get("/healthz", healthz), web.get("/api/rooms", ok), web.get("/metrics", ok)]
    try:
        async with serve(routes) as base, aiohttp.ClientSession() as http:
            probes = Probes(http, base, f"http://127.0.0.1:{server.port}")
            await probes.run(0.5)
    finally:
        server.stop()
        task.cancel()
    figures = probes.figures()
    assert figures["probes_failed"] == dict.fromkeys(figures["probes_failed"], 0)
    on_probe_port = registry.get_sample_value("roompulse_probe_requests_total",
                                              {"path": "/healthz", "code": "200"})
    assert figures["probes"]["healthz"] == on_probe_port >= 1
    assert figures["probes"]["healthz_web"] == web_hits["/healthz"] >= 1
    assert figures["healthz_p99_ms"] is not None and figures["healthz_web_p99_ms"] is not None
