"""HTTP views of the worker (Faust web): the handlers of streams/worker/api.py on the app."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from faust import web

from alerts.lifecycle import State
from alerts.logthrottle import ThrottleFilter
from streams.worker.api import PROM_CONTENT_TYPE, WorkerApi, ping_within
from streams.worker.apisettings import ApiSettings
from streams.worker.engine import REDIS_ERRORS

if TYPE_CHECKING:
    import faust

    from streams.worker.app import Runtime

__all__ = ["PROM_CONTENT_TYPE", "register_views"]
log = logging.getLogger(__name__)
# Loggers whose repeats we do not call ourselves: one line per message and minute, counted.
THROTTLED_LOGGERS = ("streams.worker.engine", "streams.worker.control", "streams.worker.app",
                     "streams.alerting.runtime", "streams.worker.looplag",
                     "streams.kpi.store_cluster", "aiohttp.server", "aiohttp.access")


def alert_states(app: Any) -> dict[str, str]:
    """room -> "firing" / "pending" from the alert engine's series (the leader's view)."""
    alerts = getattr(app, "roompulse_alerts", None)
    series = getattr(getattr(alerts, "evaluator", None), "series", None) or {}
    out: dict[str, str] = {}
    for s in list(series.values()):
        if s.state == State.firing:
            out[s.room_id] = "firing"
        elif s.state == State.pending and out.get(s.room_id) != "firing":
            out[s.room_id] = "pending"
    return out


def register_views(app: faust.App, rt: Runtime, settings: ApiSettings | None = None) -> None:
    settings = settings or ApiSettings()
    for name in THROTTLED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ThrottleFilter) for f in logger.filters):
            logger.addFilter(ThrottleFilter())

    async def problems() -> list[str]:
        out = []
        if not rt.engine.assigned_once.is_set():
            out.append("no partitions assigned yet")
        if rt.engine.redis.down:
            out.append("Redis unavailable")
        elif not await ping_within(rt.store):
            out.append("Redis does not answer PING")
        if rt.engine.broker.down:
            out.append("Kafka broker unavailable")
        return out

    api = WorkerApi(rt.store, settings, registry=rt.registry, collector=rt.collector,
                    redis_errors=REDIS_ERRORS, problems=problems,
                    alert_states=lambda: alert_states(app))
    app.roompulse_api = api  # type: ignore[attr-defined]  # our handle, like roompulse_alerts

    def page(path: str, handler) -> None:
        class View(web.View):
            async def get(self, request: web.Request, **_: Any) -> web.Response:
                return await handler(request)

        View.__name__ = View.__qualname__ = "View" + "".join(
            c for c in path.title() if c.isalnum())
        app.page(path)(View)

    page("/api/rooms", api.rooms)
    page("/api/rooms/{room_id}/kpis", api.room_kpis)
    page("/api/rooms/{room_id}/products", api.products)
    page("/api/rooms/{room_id}/sources", api.sources)
    page("/healthz", api.health)
    page("/readyz", api.ready)
    page("/metrics", api.metrics)
