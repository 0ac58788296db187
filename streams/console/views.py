"""The console's JSON API: login, overview, room page, alert feed, acknowledge and silence."""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web
from redis.exceptions import RedisError

from alerts.sinks.console import FeedEvent
from schemas.kpis import parse_window
from streams.console.auth import COOKIE
from streams.console.context import ConsoleContext, json_error, log
from streams.console.silencing import silence_dict

STORE_ERRORS = (RedisError, OSError)
_NAME = re.compile(r"^[\w.:\-/@]{1,200}\Z")  # \Z: `$` lets a trailing newline in


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise json_error(400, "bad_json", "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise json_error(400, "bad_json", "the body must be a JSON object")
    return data


async def with_acks(ctx: ConsoleContext, events: list[FeedEvent]) -> list[dict[str, Any]]:
    """Feed entries as the page wants them: alert entries carry their episode's acknowledgement."""
    episodes = [(e.data["alert"]["fingerprint"], e.data["alert"]["starts_at"])
                for e in events if e.kind == "alert"]
    acks = await ctx.feed.acks(episodes)
    out = []
    for e in events:
        doc = {"id": e.id, "kind": e.kind, **e.data}
        if e.kind == "alert":
            ack = acks.get((e.data["alert"]["fingerprint"], e.data["alert"]["starts_at"]))
            doc["ack"] = ack.to_dict() if ack else None
        out.append(doc)
    return out


OVERVIEW_PAGE_MAX = 200  # cards per overview page: each card is a few KPI reads


def overview_query(q) -> dict[str, Any]:
    """Paging, filter and order of the overview: bounded work whatever the room count."""
    try:
        limit = int(q.get("limit", "60"))
        offset = int(q.get("offset", "0"))
    except ValueError:
        raise json_error(400, "limit", "limit and offset are numbers") from None
    if not 1 <= limit <= OVERVIEW_PAGE_MAX or offset < 0:
        raise json_error(400, "limit", f"limit from 1 to {OVERVIEW_PAGE_MAX}, offset from 0")
    text = q.get("q", "").strip()
    if len(text) > 100:
        raise json_error(400, "q", "the filter is at most 100 characters")
    firing_only = q.get("alert", "") == "firing"
    sort = q.get("sort", "room")
    if sort not in ("room", "alerts"):
        raise json_error(400, "sort", "sort is room or alerts")
    return {"limit": limit, "offset": offset, "text": text, "firing_only": firing_only,
            "by_alerts": sort == "alerts"}


class ConsoleApi:
    def __init__(self, ctx: ConsoleContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[web.RouteDef]:
        b = self.ctx.base + "/api"
        return [
            web.post(f"{b}/login", self.login), web.post(f"{b}/logout", self.logout),
            web.get(f"{b}/me", self.me), web.get(f"{b}/status", self.status),
            web.get(f"{b}/overview", self.overview),
            web.get(f"{b}/rooms/{{room_id}}", self.room), web.get(f"{b}/alerts", self.alerts),
            web.post(f"{b}/alerts/{{fingerprint}}/ack", self.ack),
            web.get(f"{b}/silences", self.list_silences), web.post(f"{b}/silences", self.silence),
        ]

    async def login(self, request: web.Request) -> web.Response:
        client = request.remote or "?"
        if self.ctx.throttle.blocked(client):
            raise json_error(429, "throttled", "too many failed log-ins; wait a minute")
        body = await _body(request)
        token = body.get("token")
        session = self.ctx.auth.login(token) if isinstance(token, str) else None
        if session is None:
            self.ctx.throttle.failed(client)
            # The token itself is never logged nor echoed.
            log.info("console: failed login from %s", client)
            raise json_error(401, "bad_token", "unknown token")
        self.ctx.throttle.succeeded(client)
        log.info("console: %s logged in as %s", session.name, session.role)
        resp = _json(self.ctx.me(session))
        self.ctx.set_cookie(resp, session)
        return resp

    async def logout(self, request: web.Request) -> web.Response:
        session = self.ctx.require_change(request, role="viewer")
        try:
            await self.ctx.end_session(session)  # revoked server-side, not just forgotten
        except STORE_ERRORS as exc:
            raise json_error(503, "store", f"store unavailable: {type(exc).__name__}") from None
        resp = _json({"ok": True})
        resp.del_cookie(COOKIE, path=self.ctx.base or "/")
        return resp

    async def me(self, request: web.Request) -> web.Response:
        session = self.ctx.session_of(request)
        proxied = self.ctx.auth.proxy_identity(request.headers)
        if session is None and proxied is not None:
            # Trusted proxy: mint the session (and so the CSRF token) for whoever it vouches for.
            session = self.ctx.auth.new_session(*proxied)
            resp = _json(self.ctx.me(session))
            self.ctx.set_cookie(resp, session)
            return resp
        if session is None:
            raise json_error(401, "unauthenticated", "log in first")
        return _json(self.ctx.me(session))

    async def status(self, request: web.Request) -> web.Response:
        self.ctx.require(request)
        return _json({"problems": self.ctx.status(), "now_ms": self.ctx.now_ms()})

    async def overview(self, request: web.Request) -> web.Response:
        self.ctx.require(request)
        try:
            firing: dict[str, int] = {}
            for alert in await self.ctx.feed.current():
                firing[alert.room_id] = firing.get(alert.room_id, 0) + 1
            history = request.query.get("history") == "1"
            page = await self.ctx.readings.overview_page(firing, history=history,
                                                         **overview_query(request.query))
        except STORE_ERRORS as exc:
            raise json_error(503, "store", f"store unavailable: {type(exc).__name__}") from None
        return _json({**page, "now_ms": self.ctx.now_ms()})

    async def room(self, request: web.Request) -> web.Response:
        self.ctx.require(request)
        room_id = request.match_info["room_id"]
        window = request.query.get("window", "15m")
        try:
            parse_window(window)
        except ValueError as exc:
            raise json_error(400, "window", str(exc)) from None
        try:
            state = await self.ctx.readings.known(room_id)
            if state is None:
                raise json_error(404, "room", "unknown room")
            page = await self.ctx.readings.room_page(state, window)
        except STORE_ERRORS as exc:
            raise json_error(503, "store", f"store unavailable: {type(exc).__name__}") from None
        return _json(page)

    async def alerts(self, request: web.Request) -> web.Response:
        self.ctx.require(request)
        try:
            limit = max(1, min(int(request.query.get("limit", "100")), 500))
        except ValueError:
            raise json_error(400, "limit", "limit is a number") from None
        try:
            last = await self.ctx.feed.last_id()
            events = await with_acks(self.ctx, await self.ctx.feed.recent(limit))
            silences = await self.ctx.silences.active(self.ctx.now_ms())
        except STORE_ERRORS as exc:
            raise json_error(503, "store", f"store unavailable: {type(exc).__name__}") from None
        return _json({"last_id": last, "events": events,
                      "silences": [silence_dict(s) for s in silences]})

    async def ack(self, request: web.Request) -> web.Response:
        session = self.ctx.require_change(request)
        fp = request.match_info["fingerprint"]
        if not _NAME.match(fp):
            raise json_error(400, "fingerprint", "bad fingerprint")
        try:
            ack = await self.ctx.feed.ack(fp, session.name, self.ctx.now_ms())
        except STORE_ERRORS as exc:
            raise json_error(503, "store", f"store unavailable: {type(exc).__name__}") from None
        if ack is None:
            raise json_error(404, "not_firing", "that alert is not firing")
        log.info("console: %s acknowledged %s", session.name, fp)
        return _json({"ack": ack.to_dict()})

    async def list_silences(self, request: web.Request) -> web.Response:
        self.ctx.require(request)
        try:
            items = await self.ctx.silences.active(self.ctx.now_ms())
        except STORE_ERRORS as exc:
            raise json_error(503, "store", f"store unavailable: {type(exc).__name__}") from None
        return _json({"silences": [silence_dict(s) for s in items]})

    async def silence(self, request: web.Request) -> web.Response:
        session = self.ctx.require_change(request)
        body = await _body(request)
        rule, room_id, minutes = body.get("rule"), body.get("room_id"), body.get("minutes")
        comment = str(body.get("comment") or "")[:500]
        if not (isinstance(rule, str) and _NAME.match(rule)):
            raise json_error(400, "rule", "rule is required")
        if not (isinstance(room_id, str) and _NAME.match(room_id)):
            raise json_error(400, "room_id", "room_id is required")
        limit = self.ctx.settings.max_silence_minutes
        if not (isinstance(minutes, int) and not isinstance(minutes, bool)  # bool is an int
                and 1 <= minutes <= limit):
            raise json_error(400, "minutes", f"minutes is a whole number from 1 to {limit}")
        try:
            s = await self.ctx.silences.add(rule=rule, room_id=room_id, minutes=minutes,
                                            by=session.name, now_ms=self.ctx.now_ms(),
                                            comment=comment)
            doc = silence_dict(s)
            await self.ctx.feed.announce("silence", {"silence": doc})
        except STORE_ERRORS as exc:
            raise json_error(503, "store", f"store unavailable: {type(exc).__name__}") from None
        log.info("console: %s silenced %s in %s for %d min", session.name, rule, room_id, minutes)
        return _json({"silence": doc}, status=201)
