"""Wire the console into a Faust worker's web server (or any aiohttp application)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry

from alerts.silences import SilenceStore
from alerts.sinks.console import AlertFeed, ConsoleFeed
from alerts.sinks.roomlog import ROOM_LOG_TTL_S
from alerts.targets import Targets
from streams.alerting.redis_state import RedisSilenceStore
from streams.alerting.settings import AlertSettings
from streams.console.context import ConsoleContext, log
from streams.console.pages import ConsolePages
from streams.console.readings import KpiReader, Readings
from streams.console.sessions import RedisRevocations, Revocations
from streams.console.settings import ConsoleSettings
from streams.console.silencing import AlertSilences, ConsoleSilences
from streams.console.status import ingest_problems
from streams.console.stream import AlertStream
from streams.console.views import ConsoleApi

# A Targets, or a callable returning the current (hot-reloaded) one.
TargetsArg = Targets | Callable[[], Targets] | None

if TYPE_CHECKING:
    import faust


def add_console(web_app: web.Application, *, store: KpiReader, feed: AlertFeed,
                silences: SilenceStore | ConsoleSilences, targets: TargetsArg = None,
                settings: ConsoleSettings,
                revocations: Revocations | None = None,
                status: Callable[[], list[str]] | None = None) -> ConsoleContext:
    """Register the console's routes and hooks on an aiohttp application that has not started.
    `silences` is the alert engine's SilenceStore (wrapped here) or a ready ConsoleSilences;
    `revocations` holds logged-out sessions (default: this process's memory)."""
    if not isinstance(silences, ConsoleSilences):  # the alert engine's store: adapt it
        silences = AlertSilences(silences)
    ctx = ConsoleContext(settings=settings, feed=feed, readings=Readings(store, targets),
                         silences=silences)
    if revocations is not None:
        ctx.revocations = revocations
    if status is not None:
        ctx.status = status
    web_app.middlewares.append(ctx.session_middleware)
    pages, api, stream = ConsolePages(ctx), ConsoleApi(ctx), AlertStream(ctx)
    web_app.router.add_routes(pages.routes() + api.routes() + stream.routes())
    web_app.on_response_prepare.append(pages.on_prepare)
    web_app.on_shutdown.append(stream.on_shutdown)
    if not settings.tokens and not settings.trust_proxy_header:
        log.warning("console: no operator/viewer tokens configured and no trusted proxy: "
                    "nobody can log in (set ROOMPULSE_CONSOLE_OPERATOR_TOKENS)")
    return ctx


def install_console(app: faust.App, *, store: KpiReader, feed: AlertFeed,
                    silences: SilenceStore | ConsoleSilences, targets: TargetsArg = None,
                    settings: ConsoleSettings | None = None,
                    revocations: Revocations | None = None,
                    status: Callable[[], list[str]] | None = None) -> ConsoleContext | None:
    """Serve the console from the worker's Faust web server at `settings.base_path`."""
    settings = settings or ConsoleSettings()
    if not settings.enabled:
        return None
    from faust.web.drivers.aiohttp import Web  # faust is loaded only where a worker runs

    if not isinstance(app.web, Web):
        raise TypeError(f"the console needs Faust's aiohttp web driver, not {type(app.web)}")
    return add_console(app.web.web_app, store=store, feed=feed, silences=silences,
                       targets=targets, settings=settings, revocations=revocations,
                       status=status)


def console_feed(redis, key_prefix: str = "rp", *, room_ttl_s: int = ROOM_LOG_TTL_S,
                 settings: ConsoleSettings | None = None,
                 registry: CollectorRegistry | None = None) -> ConsoleFeed:
    """The feed all worker processes share, next to the KPI keys: `<key_prefix>:console:*`.
    The alert pipeline's console sink and the console views must both be built with this.
    Each room's alert log expires `room_ttl_s` after its last entry (pass the KPI store's
    room_ttl_s: the log lives as long as the room history may still write)."""
    settings = settings or ConsoleSettings()
    return ConsoleFeed(redis, prefix=console_prefix(key_prefix), registry=registry,
                       log_maxlen=settings.alert_log_max_per_room, log_ttl_s=room_ttl_s)


def console_prefix(kpi_prefix: str) -> str:
    """Every console key (feed, current alerts, acks, revoked sessions) lives under here."""
    return f"{kpi_prefix}:console"


def install_worker_console(app: faust.App, rt, *,
                           silences: SilenceStore | ConsoleSilences | None = None,
                           targets: TargetsArg = None,
                           settings: ConsoleSettings | None = None) -> ConsoleContext | None:
    """install_console with the worker Runtime's store, Redis client and key prefix. Without
    `silences`, a RedisSilenceStore under the same prefix (pass the notify pipeline's store so
    that console silences mute it)."""
    if silences is None:
        # The alert runtime's own prefix (ROOMPULSE_ALERTS_KEY_PREFIX), so console silences
        # mute the notify pipeline even when it was built elsewhere.
        silences = RedisSilenceStore(rt.redis, AlertSettings().key_prefix)
    # Logged-out sessions in Redis: a logout on one worker process holds on every other.
    revocations = RedisRevocations(rt.redis, console_prefix(rt.kpi.key_prefix))
    feed = console_feed(rt.redis, rt.kpi.key_prefix, room_ttl_s=rt.kpi.room_ttl_s,
                        settings=settings, registry=rt.registry)
    return install_console(app, store=rt.store, feed=feed,
                           silences=silences, targets=targets, settings=settings,
                           revocations=revocations, status=lambda: ingest_problems(rt.engine))
