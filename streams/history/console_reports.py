"""The console's Reports page: the broadcasts in history and their reports, for anyone logged in
to the console (viewer or operator), with the console's own session instead of API tokens.

Routes live under `<console base>/api/` because that is where the console checks sessions
(and their revocation) once per request:
  GET <base>/api/reports                              the page (server-rendered, no script)
  GET <base>/api/broadcasts?room=&limit=              the list as JSON
  GET <base>/api/broadcasts/{id}/report?format=&lang= a report (HTML, JSON or Markdown)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any, cast
from urllib.parse import quote

import orjson
from aiohttp import web

from streams.history.api import ReportApi
from streams.report import texts

PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
TZ = timezone(timedelta(hours=8))
CSS = ("body{font:14px/1.5 sans-serif;margin:24px;color:#1d2230}table{border-collapse:collapse}"
       "td,th{padding:4px 10px;border-bottom:1px solid #e3e6eb;text-align:left}")


class ConsoleReports:
    def __init__(self, ctx: Any, api: ReportApi) -> None:
        self.ctx = ctx  # streams.console.context.ConsoleContext
        self.api = api

    def routes(self) -> list[web.RouteDef]:
        b = self.ctx.base + "/api"
        return [web.get(f"{b}/reports", self.page), web.get(f"{b}/broadcasts", self.list),
                web.get(f"{b}/broadcasts/{{broadcast_id}}/report", self.report)]

    async def list(self, request: web.Request) -> web.Response:
        self.ctx.require(request)
        return await self.api.list_broadcasts(request)

    async def report(self, request: web.Request) -> web.Response:
        self.ctx.require(request)
        return await self.api.broadcast_report(request)

    async def page(self, request: web.Request) -> web.Response:
        if self.ctx.session_of(request) is None:
            raise web.HTTPFound(f"{self.ctx.base}/")  # log in on the console first
        lang = "en" if request.query.get("lang") == "en" else "zh-CN"
        resp = await self.api.list_broadcasts(request)
        if resp.status != 200:
            return resp
        rows = orjson.loads(cast("bytes", resp.body))["broadcasts"]  # a json_response: bytes
        T = texts.tr(lang)
        base = f"{self.ctx.base}/api/broadcasts/"
        body = "".join(
            f"<tr><td>{escape(b['room_id'])}</td><td>"
            f"{datetime.fromtimestamp(b['start_ms'] / 1000, TZ):%Y-%m-%d %H:%M}</td><td>"
            f"<a href=\"{base}{quote(b['broadcast_id'], safe='')}/report?format=html&lang={lang}\">"
            f"{T('title')}</a> · <a href=\"{base}{quote(b['broadcast_id'], safe='')}/report"
            f"?format=json\">JSON</a></td></tr>" for b in rows)
        html = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>'
                f'{T("title")}</title><style>{CSS}</style></head><body><h1>{T("title")}</h1>'
                f'<p><a href="{self.ctx.base}/">roompulse console</a></p><table><tr><th>'
                f'{T("room")}</th><th>{T("time")}</th><th></th></tr>{body}</table></body></html>')
        return web.Response(text=html, content_type="text/html",
                            headers={"Content-Security-Policy": PAGE_CSP})


def add_console_reports(web_app: web.Application, ctx: Any, api: ReportApi) -> ConsoleReports:
    """On the console's aiohttp application (after add_console, before it starts)."""
    reports = ConsoleReports(ctx, api)
    web_app.router.add_routes(reports.routes())
    return reports
