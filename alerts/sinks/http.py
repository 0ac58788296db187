"""Shared async HTTP posting for chat-bot sinks: one session, redacted errors, retryable or not."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from alerts.sinks.errors import DeliveryError
from alerts.sinks.redact import MASK, SECRET_PARAMS, Redactor, redact
from alerts.sinks.retry import parse_retry_after

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
__all__ = ["MASK", "SECRET_PARAMS", "HttpPoster", "Response", "platform_error", "redact",
           "redact_url", "status_error"]


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return orjson.loads(self.text)
        except orjson.JSONDecodeError:
            return None

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After"))


def redact_url(url: str, secrets: Iterable[str | None] = ()) -> str:
    """A sink URL safe to log: its origin only (see alerts.sinks.redact)."""
    return Redactor(url, secrets).url


def status_error(resp: Response, where: str, detail: str = "") -> DeliveryError | None:
    """Classify an HTTP status: None for 2xx; 429/408/5xx retryable; other statuses not."""
    if 200 <= resp.status < 300:
        return None
    retryable = resp.status in (408, 429) or resp.status >= 500
    snippet = detail or resp.text[:200].strip()
    return DeliveryError(
        f"{where}: HTTP {resp.status} {snippet}".rstrip(),
        retryable=retryable,
        retry_after=resp.retry_after if retryable else None,
        status=resp.status,
    )


class HttpPoster:
    """Posts bodies with one lazily created aiohttp session; never lets a URL secret escape.

    Connection errors and timeouts become retryable DeliveryErrors; the caller classifies the
    response (status and platform error codes)."""

    def __init__(self, *, timeout_s: float = 10.0, session: aiohttp.ClientSession | None = None):
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session
        self._owns_session = session is None

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str | None] = (),
        name: str = "http",
    ) -> Response:
        scrub = Redactor(url, secrets)
        hdrs = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        try:
            session = self._ensure_session()
            # No redirects: a signed alert is never forwarded to a host nobody configured.
            async with session.post(url, data=body, headers=hdrs, timeout=self._timeout,
                                    allow_redirects=False) as r:
                raw = await r.content.read(MAX_BODY)
                text = raw.decode(r.charset or "utf-8", errors="replace")
                resp = Response(r.status, r.headers.copy(), scrub(text))
        except TimeoutError:
            err = DeliveryError(f"{name}: timeout posting to {scrub.url}", retryable=True)
        except aiohttp.InvalidURL:
            # The exception text is the URL itself: never show it.
            err = DeliveryError(f"{name}: invalid URL {scrub.url}", retryable=False)
        except (aiohttp.ClientError, OSError) as exc:
            err = DeliveryError(
                f"{name}: {type(exc).__name__} posting to {scrub.url}", retryable=True
            )
        except (ValueError, TypeError, LookupError) as exc:
            # A URL or header the client cannot use (yarl/aiohttp quote the URL in the message):
            # retrying will not fix the configuration.
            err = DeliveryError(f"{name}: cannot post to {scrub.url}: {type(exc).__name__}",
                                retryable=False)
        else:
            log.debug("%s: POST %s -> %s", name, scrub.url, resp.status)
            return resp
        log.warning("%s", err)
        raise err

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._owns_session = True
        return self._session

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> HttpPoster:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def platform_error(
    resp: Response,
    where: str,
    *,
    code_keys: tuple[str, ...],
    msg_keys: tuple[str, ...],
    retryable_codes: frozenset[int],
) -> DeliveryError | None:
    """Classify a chat platform's answer: its documented rate-limit/busy codes are retryable
    whatever the HTTP status; then the status; then any other non-zero code is final."""
    body = resp.json()
    body = body if isinstance(body, dict) else {}
    code = next((body[k] for k in code_keys if k in body), None)
    if isinstance(code, str) and code.lstrip("-").isdigit():
        code = int(code)  # some proxies and older endpoints send "errcode": "0"
    msg = next((str(body[k]) for k in msg_keys if k in body), "")[:200]
    if code in retryable_codes:
        return DeliveryError(
            f"{where}: rate limited / busy (code {code} {msg})".rstrip(),
            retryable=True, retry_after=resp.retry_after, status=resp.status, code=code,
        )
    err = status_error(resp, where, f"(code {code} {msg})" if code is not None else "")
    if err is not None:
        err.code = code
        return err
    if code is None:
        return DeliveryError(
            f"{where}: unexpected response {resp.text[:100]!r}", retryable=False, status=resp.status
        )
    if code != 0:
        return DeliveryError(
            f"{where}: rejected (code {code} {msg})".rstrip(),
            retryable=False, status=resp.status, code=code,
        )
    return None
