"""HTTP API over history: `GET /api/broadcasts` and `GET /api/broadcasts/{id}/report`.

Guarded by the same bearer tokens as the worker's other /api/* routes (ApiSettings). Database
calls run on one dedicated thread with the API's own connection, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from aiohttp import web

from alerts.targets import Targets
from streams.history.db import HistoryError
from streams.history.settings import HistorySettings
from streams.history.store import HistoryStore
from streams.report.compare import HISTORY_N
from streams.report.make import FORMATS, render, report_from_data
from streams.report.texts import LANGS
from streams.worker.apisettings import ApiSettings, bearer_ok

log = logging.getLogger(__name__)
LIST_MAX = 500
# The report page needs nothing but its own inline CSS: forbid everything else.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json",
                        headers=headers)


def _unavailable(exc: HistoryError) -> web.Response:
    # the detail (host, database) goes to the log; the caller learns only whether to retry
    return _json({"error": "history unavailable", "retryable": exc.retryable}, 503)


class ReportApi:
    def __init__(self, settings: HistorySettings | None = None, api: ApiSettings | None = None,
                 targets: Callable[[], Targets] | None = None,
                 store: HistoryStore | None = None) -> None:
        self.settings = settings or HistorySettings()
        self.tokens = (api or ApiSettings()).api_token_list()
        self.targets = targets or Targets.load
        self._store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roompulse-history-api")

    def routes(self) -> list[tuple[str, Callable]]:
        return [("/api/broadcasts", self.list), ("/api/broadcasts/{broadcast_id}/report",
                                                  self.report)]

    def _open(self) -> HistoryStore:
        if self._store is None:
            self._store = HistoryStore.open(self.settings)
        return self._store

    async def _db(self, fn: Callable[[HistoryStore], Any]) -> Any:
        def run() -> Any:
            return fn(self._open())

        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, run)
        except HistoryError as exc:
            if exc.retryable and self._store is not None:  # reconnect on the next request
                store, self._store = self._store, None
                await asyncio.get_running_loop().run_in_executor(self._pool, store.close)
            log.warning("history API: %s", exc)
            raise

    def _denied(self, request: web.Request) -> web.Response | None:
        if bearer_ok(request.headers.get("Authorization"), self.tokens):
            return None
        return _json({"error": "a bearer token is required"}, 401,
                     {"WWW-Authenticate": 'Bearer realm="roompulse"'})

    async def list(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        return await self.list_broadcasts(request)

    async def report(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        return await self.broadcast_report(request)

    async def list_broadcasts(self, request: web.Request) -> web.Response:
        """Newest first; `room` filters, `limit` (1..500, default 100) bounds. No auth check:
        the caller (bearer tokens here, the console's session there) made it."""
        room = request.query.get("room") or None
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= LIST_MAX:
            return _json({"error": f"limit is a number from 1 to {LIST_MAX}"}, 400)
        try:
            rows = await self._db(lambda s: s.broadcasts(room, limit))
        except HistoryError as exc:
            return _unavailable(exc)
        return _json({"broadcasts": rows})

    async def broadcast_report(self, request: web.Request) -> web.Response:
        """`format` json (default) or html or md; `lang` zh-CN (default) or en. No auth check."""
        fmt = request.query.get("format", "json")
        lang = request.query.get("lang", "zh-CN")
        if fmt not in FORMATS or lang not in LANGS:
            return _json({"error": f"format is one of {', '.join(FORMATS)}; "
                                   f"lang one of {', '.join(LANGS)}"}, 400)
        bid = request.match_info["broadcast_id"]
        try:
            data = await self._db(lambda s: s.load_with_history(bid, HISTORY_N))
        except HistoryError as exc:
            return _unavailable(exc)
        if data is None:
            return _json({"error": f"no broadcast {bid!r} in history"}, 404)
        body = render(report_from_data(data, self.targets(), lang), fmt)
        if fmt == "html":
            return web.Response(body=body, content_type="text/html", charset="utf-8",
                                headers={"Content-Security-Policy": REPORT_CSP})
        if fmt == "md":
            return web.Response(body=body, content_type="text/markdown", charset="utf-8")
        return web.Response(body=body, content_type="application/json")

    def close(self) -> None:
        if self._store is not None:
            self._pool.submit(self._store.close)
        self._pool.shutdown(wait=False)


def add_report_routes(web_app: web.Application, api: ReportApi) -> None:
    """On a plain aiohttp application (tests, other servers)."""
    web_app.router.add_routes([web.get(path, handler) for path, handler in api.routes()])
