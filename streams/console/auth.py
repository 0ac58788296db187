"""Console identity: token login, HMAC-signed session cookies, proxy headers, roles and CSRF
tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson

from streams.console.settings import ROLES, ConsoleSettings

COOKIE = "rp_console"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Session:
    """Who is looking (`name`, `role`), until when, and the nonce their CSRF token derives from."""

    name: str
    role: str
    expires: int
    nonce: str

    @property
    def operator(self) -> bool:
        return self.role == "operator"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """Turns tokens, cookies and trusted proxy headers into Sessions; never keeps a token around
    longer than the comparison that needs it."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self._key = settings.signing_key

    def _mac(self, purpose: bytes, data: bytes) -> bytes:
        return hmac.new(self._key, purpose + b"\x00" + data, hashlib.sha256).digest()

    def login(self, token: str) -> Session | None:
        """The session for a configured token, or None. Compares against every token in constant
        time so the response time does not reveal how much of a token matched."""
        found: tuple[str, str] | None = None
        given = token.encode()
        for known, who in self.settings.tokens.items():
            if hmac.compare_digest(known.encode(), given):
                found = who
        if not found or not token:
            return None
        return self.new_session(*found)

    def new_session(self, name: str, role: str, now: float | None = None) -> Session:
        role = role if role in ROLES else "viewer"
        expires = int((now if now is not None else time.time()) + self.settings.session_ttl_s)
        return Session(name, role, expires, secrets.token_urlsafe(16))

    def encode(self, session: Session) -> str:
        body = orjson.dumps({"u": session.name, "r": session.role, "e": session.expires,
                             "n": session.nonce})
        return f"{_b64(body)}.{_b64(self._mac(b'session', body))}"

    def decode(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie carries, or None if it is missing, forged or expired."""
        if not cookie or "." not in cookie:
            return None
        body_b64, _, mac_b64 = cookie.partition(".")
        try:
            body, mac = _unb64(body_b64), _unb64(mac_b64)
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(mac, self._mac(b"session", body)):
            return None
        try:
            doc = orjson.loads(body)
            session = Session(str(doc["u"]), str(doc["r"]), int(doc["e"]), str(doc["n"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        if session.role not in ROLES:
            return None
        if session.expires < (now if now is not None else time.time()):
            return None
        return session

    def proxy_identity(self, headers) -> tuple[str, str] | None:
        """(user, role) from a trusted reverse proxy; None when not enabled or no user header."""
        if not self.settings.trust_proxy_header:
            return None
        user = (headers.get(self.settings.proxy_user_header) or "").strip()
        if not user:
            return None
        role = (headers.get(self.settings.proxy_role_header) or "viewer").strip().lower()
        return user, role if role in ROLES else "viewer"

    def csrf_token(self, session: Session) -> str:
        return _b64(self._mac(b"csrf", session.nonce.encode()))

    def csrf_ok(self, session: Session, presented: str | None) -> bool:
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.csrf_token(session).encode())


class LoginThrottle:
    """At most `limit` failed log-ins per client address per `period_s`: token guessing gets
    slow."""

    def __init__(self, limit: int = 10, period_s: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit, self.period_s, self.max_clients = limit, period_s, max_clients
        self._failures: dict[str, tuple[float, int]] = {}

    def blocked(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        start, count = self._failures.get(client, (now, 0))
        return now - start < self.period_s and count >= self.limit

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._failures) >= self.max_clients:  # bounded memory under a spray of addresses
            self._failures = {c: v for c, v in self._failures.items()
                              if now - v[0] < self.period_s}
        start, count = self._failures.get(client, (now, 0))
        if now - start >= self.period_s:
            start, count = now, 0
        self._failures[client] = (start, count + 1)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
