"""`install_history(app, rt)`: the history writer as a Faust leader timer beside the KPI loop."""

from __future__ import annotations

import logging
from typing import Any

import mode

from streams.history.settings import HistorySettings
from streams.history.writer import HistoryWriter

log = logging.getLogger(__name__)


def install_history(app: Any, rt: Any, settings: HistorySettings | None = None
                    ) -> HistoryWriter | None:
    """Register the writer on `app` (leader only); `rt` gives the KPI store and the registry."""
    settings = settings or HistorySettings()
    if not settings.enabled:
        log.info("history disabled (ROOMPULSE_HISTORY_ENABLED=false)")
        return None
    writer = HistoryWriter(rt.store, settings, registry=rt.registry)

    @app.timer(settings.interval_s, on_leader=True)
    async def write_history() -> None:
        await writer.tick()  # never raises: failures are counted and logged

    @app.service
    class HistoryClose(mode.Service):
        """Closes the database connection when the worker stops."""

        async def on_stop(self) -> None:
            await writer.close()

    app.roompulse_history = writer
    return writer
