"""HTTP views of the worker: the handlers of streams/worker/api.py on Faust's web server, and
the probe server (/healthz, /readyz off the event loop) on its own port."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import mode
from faust import web

from alerts.lifecycle import State
from alerts.logthrottle import ThrottleFilter
from streams.worker.api import PROM_CONTENT_TYPE, WorkerApi, ping_within
from streams.worker.apisettings import ApiSettings
from streams.worker.engine import REDIS_ERRORS
from streams.worker.probes import LoopProbes
from streams.worker.probeserver import ProbeServer

if TYPE_CHECKING:
    import faust

    from streams.worker.app import Runtime

__all__ = ["PROM_CONTENT_TYPE", "install_probes", "readiness_problems", "register_views"]
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


def readiness_problems(engine: Any, store: Any) -> Callable[[], Awaitable[list[str]]]:
    """What keeps the worker from being ready, in words; [] = ready. Both ports' /readyz."""

    async def problems() -> list[str]:
        out = []
        if not engine.assigned_once.is_set():
            out.append("no partitions assigned yet")
        if engine.redis.down:
            out.append("Redis unavailable")
        elif not await ping_within(store):
            out.append("Redis does not answer PING")
        if engine.broker.down:
            out.append("Kafka broker unavailable")
        return out

    return problems


def register_views(app: faust.App, rt: Runtime, settings: ApiSettings | None = None) -> None:
    settings = settings or ApiSettings()
    for name in THROTTLED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ThrottleFilter) for f in logger.filters):
            logger.addFilter(ThrottleFilter())

    problems = readiness_problems(rt.engine, rt.store)
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
    install_probes(app, rt, settings, problems)


def install_probes(app: faust.App, rt: Runtime, settings: ApiSettings,
                   problems: Callable[[], Awaitable[list[str]]]) -> ProbeServer | None:
    """The probe server as a service of the app: started after the KPI loop (whose loop-lag
    task is the heartbeat it reports), stopped with the worker. None when its port is 0."""
    port = settings.probe_port_for(rt.worker.web_port)
    if port == 0:
        return None
    probes = LoopProbes(rt.loop_lag, problems, stale_s=settings.probe_loop_stale_s,
                        every_s=settings.probe_ready_every_s,
                        max_age_s=settings.probe_ready_max_age_s)
    server = ProbeServer(probes, rt.worker.web_host, port, registry=rt.registry,
                         max_connections=settings.probe_max_connections,
                         timeout_s=settings.probe_timeout_s)

    @app.service
    class ProbeService(mode.Service):
        async def on_start(self) -> None:
            try:
                server.start()
            except OSError as exc:
                # Probes pointed at a port someone else answers are worse than no worker.
                log.error("probe server cannot listen on %s:%d (ROOMPULSE_API_PROBE_PORT): %s",
                          server.host, server.port, exc.strerror or exc)
                raise

        @mode.Service.task
        async def _readiness(self) -> None:
            await probes.refresh()

        async def on_stop(self) -> None:
            await asyncio.to_thread(server.stop)  # shutdown() waits up to one 0.1 s poll

    app.roompulse_probes = server  # type: ignore[attr-defined]  # our handle, for tests
    return server
