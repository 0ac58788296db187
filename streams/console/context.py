"""Everything the console's handlers share, plus the guards every handler goes through."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from alerts.sinks.console import AlertFeed
from streams.console.auth import COOKIE, CSRF_HEADER, Authenticator, LoginThrottle, Session
from streams.console.readings import Readings
from streams.console.settings import ConsoleSettings
from streams.console.silencing import ConsoleSilences

log = logging.getLogger("streams.console")


def json_error(status: int, code: str, message: str) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
           404: web.HTTPNotFound, 429: web.HTTPTooManyRequests,
           503: web.HTTPServiceUnavailable}[status]
    body = orjson.dumps({"error": code, "message": message}).decode()
    return cls(text=body, content_type="application/json")


@dataclass
class ConsoleContext:
    settings: ConsoleSettings
    feed: AlertFeed
    readings: Readings
    silences: ConsoleSilences
    auth: Authenticator = field(init=False)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    streams: set = field(default_factory=set)
    block_ms: int = 2_000

    def __post_init__(self) -> None:
        self.auth = Authenticator(self.settings)

    @property
    def base(self) -> str:
        return self.settings.base_path

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def session_of(self, request: web.Request) -> Session | None:
        """The caller's session. Behind a trusted proxy the headers say who it is, and the cookie
        only counts when it belongs to that same person."""
        session = self.auth.decode(request.cookies.get(COOKIE))
        proxied = self.auth.proxy_identity(request.headers)
        if proxied is None:
            return session
        if session is not None and (session.name, session.role) == proxied:
            return session
        return None

    def require(self, request: web.Request, role: str = "viewer") -> Session:
        session = self.session_of(request)
        if session is None:
            raise json_error(401, "unauthenticated", "log in first")
        if role == "operator" and not session.operator:
            raise json_error(403, "forbidden", "this needs the operator role")
        return session

    def require_change(self, request: web.Request, role: str = "operator") -> Session:
        """For state changes: same-origin, a session, the role, and the CSRF token echoed back."""
        origin = request.headers.get("Origin")
        hosts = {request.host}
        if self.settings.trust_proxy_header and request.headers.get("X-Forwarded-Host"):
            hosts.add(request.headers["X-Forwarded-Host"])  # the proxy may rewrite Host
        if origin and urlsplit(origin).netloc not in hosts:
            raise json_error(403, "csrf", "cross-origin request refused")
        session = self.session_of(request)
        if session is None:
            raise json_error(401, "unauthenticated", "log in first")
        if not self.auth.csrf_ok(session, request.headers.get(CSRF_HEADER)):
            raise json_error(403, "csrf", "missing or wrong CSRF token")
        return self.require(request, role)

    def set_cookie(self, resp: web.StreamResponse, session: Session) -> None:
        resp.set_cookie(COOKIE, self.auth.encode(session), path=self.base or "/",
                        max_age=self.settings.session_ttl_s, httponly=True, samesite="Strict",
                        secure=self.settings.cookie_secure)

    def me(self, session: Session) -> dict[str, Any]:
        return {"name": session.name, "role": session.role, "csrf": self.auth.csrf_token(session),
                "expires": session.expires, "default_lang": self.settings.default_lang}
