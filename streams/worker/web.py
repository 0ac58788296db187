"""HTTP views of the worker (Faust web): KPI read API, health, readiness and Prometheus metrics."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from faust import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from schemas.kpis import parse_window
from streams.worker.engine import REDIS_ERRORS

if TYPE_CHECKING:
    import faust

    from streams.worker.app import Runtime

log = logging.getLogger(__name__)
# aiohttp refuses a charset inside content_type; the exposition format is UTF-8 anyway.
PROM_CONTENT_TYPE = "; ".join(p for p in CONTENT_TYPE_LATEST.split("; ") if "charset" not in p)


def register_views(app: faust.App, rt: Runtime) -> None:
    store = rt.store

    def window_of(request: web.Request) -> str:
        window = request.query.get("window", "5m")
        parse_window(window)  # ValueError -> 400 below
        return window

    async def guarded(view: web.View, produce):
        try:
            return view.json(await produce())
        except ValueError as exc:
            return view.json({"error": str(exc)}, status=400)
        except REDIS_ERRORS as exc:
            return view.json({"error": f"Redis unavailable: {type(exc).__name__}"}, status=503)

    async def known_room(room_id: str) -> None:
        if await store.room_state(room_id) is None:
            raise LookupError(room_id)

    async def room_read(view: web.View, request: web.Request, room_id: str, read):
        try:
            window = window_of(request)
            await known_room(room_id)
        except ValueError as exc:
            return view.json({"error": str(exc)}, status=400)
        except LookupError:
            return view.json({"error": f"unknown room {room_id!r}"}, status=404)
        except REDIS_ERRORS as exc:
            return view.json({"error": f"Redis unavailable: {type(exc).__name__}"}, status=503)
        return await guarded(view, lambda: read(room_id, window))

    def listing(key: str, fetch):
        """A read returning `{key: [snapshot, ...]}` for one room and window."""
        async def read(room, window):
            return {key: [s.model_dump(mode="json") for s in await fetch(room, window)]}
        return read

    @app.page("/api/rooms")
    class Rooms(web.View):
        async def get(self, request: web.Request) -> web.Response:
            async def produce():
                return {"rooms": [s.model_dump(mode="json") for s in await store.rooms()]}
            return await guarded(self, produce)

    @app.page("/api/rooms/{room_id}/kpis")
    class RoomKpis(web.View):
        async def get(self, request: web.Request, room_id: str) -> web.Response:
            async def read(room, window):
                return (await store.room_kpis(room, window)).model_dump(mode="json")
            return await room_read(self, request, room_id, read)

    @app.page("/api/rooms/{room_id}/products")
    class ProductKpis(web.View):
        async def get(self, request: web.Request, room_id: str) -> web.Response:
            return await room_read(self, request, room_id,
                                   listing("products", store.product_kpis))

    @app.page("/api/rooms/{room_id}/sources")
    class SourceKpis(web.View):
        async def get(self, request: web.Request, room_id: str) -> web.Response:
            return await room_read(self, request, room_id,
                                   listing("sources", store.source_kpis))

    @app.page("/healthz")
    class Health(web.View):
        async def get(self, request: web.Request) -> web.Response:
            return self.json({"status": "ok"})

    @app.page("/readyz")
    class Ready(web.View):
        async def get(self, request: web.Request) -> web.Response:
            problems = []
            if not rt.engine.assigned_once.is_set():
                problems.append("no partitions assigned yet")
            if rt.engine.redis.down:
                problems.append("Redis unavailable")
            elif not await store.ping():
                problems.append("Redis does not answer PING")
            if rt.engine.broker.down:
                problems.append("Kafka broker unavailable")
            if problems:
                return self.json({"status": "not ready", "problems": problems}, status=503)
            return self.json({"status": "ready"})

    @app.page("/metrics")
    class Metrics(web.View):
        async def get(self, request: web.Request) -> web.Response:
            try:
                await rt.collector.refresh()
            except REDIS_ERRORS as exc:  # worker metrics still matter when Redis is down
                log.debug("KPI gauges not refreshed: %s", exc)
            return self.bytes(generate_latest(rt.registry), content_type=PROM_CONTENT_TYPE)
