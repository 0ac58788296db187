"""The worker's HTTP handlers (plain aiohttp): KPI read API, health, readiness, /metrics.

Faust serves them (streams/worker/web.py); tests serve the same handlers from a bare aiohttp
app. Every /api and /metrics response carries nosniff, no-store and a CSP that allows nothing
(they are data, never pages); bearer tokens guard them when configured (ApiSettings).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from alerts.logthrottle import LogThrottle, exc_kind
from schemas.kpis import parse_window
from streams.worker.apisettings import ApiSettings, bearer_ok
from streams.worker.roomlist import RoomIndex, page, parse_query

log = logging.getLogger(__name__)
# aiohttp refuses a charset inside content_type; the exposition format is UTF-8 anyway.
PROM_CONTENT_TYPE = "; ".join(p for p in CONTENT_TYPE_LATEST.split("; ") if "charset" not in p)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
PING_TIMEOUT_S = 0.5  # readiness must answer even when Redis hangs


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json",
                        headers={**SECURITY_HEADERS, **(headers or {})})


class WorkerApi:
    def __init__(self, store: Any, settings: ApiSettings, *, registry: CollectorRegistry,
                 collector: Any | None, redis_errors: tuple[type[BaseException], ...],
                 problems: Callable[[], Awaitable[list[str]]],
                 alert_states: Callable[[], dict[str, str]] | None = None) -> None:
        self.store, self.settings, self.registry = store, settings, registry
        self.collector, self.redis_errors = collector, redis_errors
        self.problems, self.alert_states = problems, alert_states
        self.tokens = settings.api_token_list()
        self.metrics_tokens = [settings.metrics_token.get_secret_value()] \
            if settings.metrics_token is not None else []
        # The store lists states in steps, yielding to the loop between them (KpiStoreBase.rooms).
        self.index = RoomIndex(store.rooms, settings.rooms_listing_ttl_s)
        self.throttle = LogThrottle()
        self._scrape = asyncio.Lock()
        if collector is not None:
            collector.limit(max_rooms=settings.metrics_max_rooms,
                            max_series=settings.metrics_max_series,
                            budget_s=settings.metrics_budget_s, registry=registry,
                            max_loop_share=settings.metrics_max_loop_share)

    def _denied(self, request: web.Request, tokens: list[str]) -> web.Response | None:
        if bearer_ok(request.headers.get("Authorization"), tokens):
            return None
        return _json({"error": "a bearer token is required"}, 401,
                     {"WWW-Authenticate": 'Bearer realm="roompulse"'})

    def _unavailable(self, exc: BaseException) -> web.Response:
        self.throttle.warning(log, ("api-redis", exc_kind(exc)), "API: Redis unavailable: %s",
                              exc_kind(exc))
        return _json({"error": f"Redis unavailable: {exc_kind(exc)}"}, 503)

    async def health(self, request: web.Request) -> web.Response:
        # No Redis, no lock, no await on anything the evaluator holds: liveness only.
        return _json({"status": "ok"})

    async def ready(self, request: web.Request) -> web.Response:
        problems = await self.problems()
        if problems:
            return _json({"status": "not ready", "problems": problems}, 503)
        return _json({"status": "ready"})

    async def rooms(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request, self.tokens)) is not None:
            return denied
        try:
            query = parse_query(request.query, self.settings.rooms_page_max)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        try:
            rooms, ids = await self.index.rooms()
        except self.redis_errors as exc:
            return self._unavailable(exc)
        states = self.alert_states() if self.alert_states is not None else {}
        return _json(page(rooms, ids, query, states))

    async def _room(self, request: web.Request, read) -> web.Response:
        if (denied := self._denied(request, self.tokens)) is not None:
            return denied
        room_id = request.match_info["room_id"]
        window = request.query.get("window", "5m")
        try:
            parse_window(window)
            if await self.store.room_state(room_id) is None:
                return _json({"error": f"unknown room {room_id!r}"}, 404)
            return _json(await read(room_id, window))
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        except self.redis_errors as exc:
            return self._unavailable(exc)

    async def room_kpis(self, request: web.Request) -> web.Response:
        async def read(room, window):
            return (await self.store.room_kpis(room, window)).model_dump(mode="json")
        return await self._room(request, read)

    async def products(self, request: web.Request) -> web.Response:
        async def read(room, window):
            return {"products": [s.model_dump(mode="json")
                                 for s in await self.store.product_kpis(room, window)]}
        return await self._room(request, read)

    async def sources(self, request: web.Request) -> web.Response:
        async def read(room, window):
            return {"sources": [s.model_dump(mode="json")
                                for s in await self.store.source_kpis(room, window)]}
        return await self._room(request, read)

    async def metrics(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request, self.metrics_tokens)) is not None:
            return denied
        if self.collector is not None:
            async with self._scrape:  # concurrent scrapes share one KPI read, not N
                try:
                    await self.collector.refresh()
                except self.redis_errors as exc:  # worker metrics matter most when Redis is down
                    self.throttle.warning(log, ("metrics-redis", exc_kind(exc)),
                                          "KPI gauges not refreshed: %s", exc_kind(exc))
        # Rendering thousands of series is CPU work: off the event loop, so /healthz, /readyz
        # and the API never wait behind a scrape (prometheus_client's collectors lock).
        body = await asyncio.to_thread(generate_latest, self.registry)
        return web.Response(body=body, content_type=PROM_CONTENT_TYPE, headers=SECURITY_HEADERS)

    def routes(self) -> list[web.RouteDef]:
        """For a plain aiohttp app (tests); the worker registers the same handlers on Faust."""
        return [web.get("/healthz", self.health), web.get("/readyz", self.ready),
                web.get("/metrics", self.metrics), web.get("/api/rooms", self.rooms),
                web.get("/api/rooms/{room_id}/kpis", self.room_kpis),
                web.get("/api/rooms/{room_id}/products", self.products),
                web.get("/api/rooms/{room_id}/sources", self.sources)]


async def ping_within(store: Any, timeout: float = PING_TIMEOUT_S) -> bool:
    """store.ping(), False after `timeout`: a hung Redis must not hang the readiness probe."""
    try:
        return bool(await asyncio.wait_for(store.ping(), timeout))
    except TimeoutError:
        return False
