"""`install_history(app, rt)`: the history writer as a Faust leader timer beside the KPI loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import mode
from faust import web

from alerts.sinks.console import AlertFeed
from alerts.targets import Targets
from streams.history.api import ReportApi
from streams.history.console_reports import add_console_reports
from streams.history.settings import HistorySettings
from streams.history.writer import HistoryWriter

log = logging.getLogger(__name__)


def _page(app: Any, path: str, handler: Callable) -> None:
    """A GET route on the Faust web server (as streams/worker/web.py registers /api/rooms)."""
    class View(web.View):
        async def get(self, request: web.Request, **_: Any) -> web.Response:
            return await handler(request)

    View.__name__ = View.__qualname__ = "View" + "".join(c for c in path.title() if c.isalnum())
    app.page(path)(View)


def install_history(app: Any, rt: Any, settings: HistorySettings | None = None,
                    targets: Callable[[], Targets] | None = None,
                    feed: AlertFeed | None = None, console: Any = None) -> HistoryWriter | None:
    """Register the writer on `app` (leader only) and the report API (every worker); `rt`
    gives the KPI store and the registry, `targets` the current (hot-reloaded) targets, `feed`
    the console feed the alert timeline is read from, `console` the console's context (its
    Reports page and session-checked routes)."""
    settings = settings or HistorySettings()
    if not settings.enabled:
        log.info("history disabled (ROOMPULSE_HISTORY_ENABLED=false)")
        return None
    writer = HistoryWriter(rt.store, settings, registry=rt.registry, feed=feed)
    api = ReportApi(settings, targets=targets)
    for path, handler in api.routes():
        _page(app, path, handler)
    if console is not None:
        add_console_reports(app.web.web_app, console, api)

    @app.timer(settings.interval_s, on_leader=True)
    async def write_history() -> None:
        await writer.tick()  # never raises: failures are counted and logged

    @app.service
    class HistoryClose(mode.Service):
        """Closes the database connection when the worker stops."""

        async def on_stop(self) -> None:
            await writer.close()
            api.close()

    app.roompulse_history = writer
    return writer
