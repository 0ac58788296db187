"""Everything the console's handlers share, plus the guards every handler goes through."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from redis.exceptions import RedisError

from alerts.sinks.console import AlertFeed
from streams.console.auth import COOKIE, CSRF_HEADER, Authenticator, LoginThrottle, Session
from streams.console.readings import Readings
from streams.console.sessions import MemoryRevocations, Revocations
from streams.console.settings import ConsoleSettings, normalize_origin
from streams.console.silencing import ConsoleSilences

log = logging.getLogger("streams.console")
# Where the session middleware leaves the checked session (None: no valid, unrevoked session).
SESSION_KEY: web.RequestKey[Session | None] = web.RequestKey("roompulse_console_session", Session)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


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
    revocations: Revocations = field(default_factory=MemoryRevocations)
    # What keeps this worker's KPIs and alerts from being current, as codes the page words
    # (streams.console.status): an operator must not read frozen cards as calm rooms.
    status: Callable[[], list[str]] = field(default=lambda: [])

    def __post_init__(self) -> None:
        self.auth = Authenticator(self.settings)
        self._refused_origins: set[str] = set()

    @web.middleware
    async def session_middleware(
        self, request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Check the session cookie of every API request against the revoked sessions once,
        before the handler runs (handlers then read it synchronously via session_of)."""
        if request.path.startswith(f"{self.base}/api/"):
            session = self.auth.decode(request.cookies.get(COOKIE))
            if session is not None:
                try:
                    if await self.revocations.revoked(session):
                        session = None
                except (RedisError, OSError) as exc:
                    raise json_error(503, "store",
                                     f"store unavailable: {type(exc).__name__}") from None
            request[SESSION_KEY] = session
        return await handler(request)

    async def end_session(self, session: Session) -> None:
        """Log out for good: the cookie is refused from now on, wherever it was copied to."""
        await self.revocations.revoke(session)

    async def session_alive(self, session: Session) -> bool:
        """For long-lived responses (the SSE stream): not expired and not logged out since."""
        if session.expires * 1000 < self.now_ms():
            return False
        return not await self.revocations.revoked(session)

    @property
    def base(self) -> str:
        return self.settings.base_path

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def session_of(self, request: web.Request) -> Session | None:
        """The caller's session. Behind a trusted proxy the headers say who it is, and the cookie
        only counts when it belongs to that same person."""
        # Set by session_middleware (fail closed without it: a revoked cookie must not pass).
        session = request.get(SESSION_KEY)
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
        if origin is not None and not self.origin_allowed(request, origin):
            raise json_error(403, "csrf", "cross-origin request refused (an allowed origin is "
                             "set with ROOMPULSE_CONSOLE_ALLOWED_ORIGINS)")
        session = self.session_of(request)
        if session is None:
            raise json_error(401, "unauthenticated", "log in first")
        if not self.auth.csrf_ok(session, request.headers.get(CSRF_HEADER)):
            raise json_error(403, "csrf", "missing or wrong CSRF token")
        return self.require(request, role)

    def allowed_origins(self, request: web.Request) -> set[str]:
        """The configured origins; by default the console as reached on this server's own port
        through loopback. Never derived from Host or X-Forwarded-Host: a DNS-rebinding page
        controls those."""
        if self.settings.allowed_origins:
            return set(self.settings.allowed_origins)
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        port = sockname[1] if isinstance(sockname, tuple) and len(sockname) > 1 else None
        if not port:
            return set()
        return {normalize_origin(f"{scheme}://{host}:{port}") or ""
                for scheme in ("http", "https") for host in LOOPBACK_HOSTS}

    def origin_allowed(self, request: web.Request, origin: str) -> bool:
        norm = normalize_origin(origin)
        if norm is not None and norm in self.allowed_origins(request):
            return True
        if len(self._refused_origins) < 100 and origin not in self._refused_origins:
            self._refused_origins.add(origin)  # once per origin: a page retrying is not news
            log.warning("console: refused a state change from origin %r (allowed: %s)",
                        origin[:200], ", ".join(sorted(self.allowed_origins(request))) or "none")
        return False

    def set_cookie(self, resp: web.StreamResponse, session: Session) -> None:
        resp.set_cookie(COOKIE, self.auth.encode(session), path=self.base or "/",
                        max_age=self.settings.session_ttl_s, httponly=True, samesite="Strict",
                        secure=self.settings.cookie_secure)

    def me(self, session: Session) -> dict[str, Any]:
        return {"name": session.name, "role": session.role, "csrf": self.auth.csrf_token(session),
                "expires": session.expires, "default_lang": self.settings.default_lang}
