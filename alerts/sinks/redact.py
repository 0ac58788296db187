"""One redaction for every sink: a sink URL is shown as its origin only, and any text that may
echo it (response bodies, exception messages) is scrubbed of every piece that can be a credential.

Webhook URLs carry their credential in the path (Slack, Feishu, most generic receivers) or the
query (WeCom `key`, DingTalk `access_token` and `sign`), and receivers like to echo the path in
their error bodies ("no route for /hooks/<token>"). So nothing after the host is ever displayed,
and the path, the query and their pieces are masked wherever they appear."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

MASK = "***"
# Query parameters that carry credentials on the documented webhook URLs.
SECRET_PARAMS = frozenset({"key", "access_token", "token", "sign", "secret"})
# Plain words such as `webhook`, `cgi-bin` or `open-apis` are route names, not credentials:
# masking them would garble platform messages ("invalid webhook url"). A segment with a digit,
# an upper-case letter or other characters, or a long one, is treated as a possible credential.
_WORD = re.compile(r"[a-z_-]{1,15}")
_MIN_SECRET = 4


def _credential_like(piece: str) -> bool:
    return len(piece) >= _MIN_SECRET and not _WORD.fullmatch(piece)


def url_secrets(url: str | None) -> tuple[str, ...]:
    """Every part of `url` that may be (or contain) a credential: the URL itself, userinfo,
    the whole path and query, every credential-like path segment and every query value."""
    if not url:
        return ()
    out = {url}
    try:
        parts = urlsplit(url)
    except ValueError:
        return (url,)
    if "@" in parts.netloc:
        out.add(parts.netloc.rsplit("@", 1)[0])
    if parts.path not in ("", "/"):
        out.update({parts.path, parts.path.strip("/"), unquote(parts.path)})
        segments = [s for s in parts.path.split("/") if s]
        out.update(s for s in segments if _credential_like(s))
        out.update(unquote(s) for s in segments if _credential_like(unquote(s)))
    if parts.query:
        out.add(parts.query)
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            if k.lower() in SECRET_PARAMS or _credential_like(v):
                out.add(v)
    if parts.fragment:
        out.add(parts.fragment)
    return tuple(s for s in out if len(s) >= _MIN_SECRET or s == url)


def safe_url(url: str | None) -> str:
    """What may be logged of a sink URL: scheme, host and port; `/***` stands for the rest."""
    if not url:
        return "<no url>"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable url>"
    if not parts.scheme or not host:
        return "<unparseable url>"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    origin = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    rest = parts.path not in ("", "/") or parts.query or parts.fragment
    return origin + (f"/{MASK}" if rest else "")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask every given secret in `text`, raw and URL-encoded, longest first (so a whole URL is
    masked before its pieces, and no fragment of a longer secret survives)."""
    forms: set[str] = set()
    for s in secrets:
        if s:
            forms.update({s, quote(s, safe=""), quote(s), quote_plus(s)})
    for form in sorted(forms, key=len, reverse=True):
        if form:
            text = text.replace(form, MASK)
    return text


class Redactor:
    """The redaction of one sink (or one request): its URL and its configured secrets.

    `url` is what may be logged; `__call__` scrubs any text. Build one per request when the URL
    changes per request (DingTalk's signed URL)."""

    def __init__(self, url: str | None = None, secrets: Iterable[str | None] = ()) -> None:
        self.url = safe_url(url)
        self._secrets = tuple({*url_secrets(url), *(s for s in secrets if s)})

    def __call__(self, text: str) -> str:
        return redact(text, self._secrets)

    def __repr__(self) -> str:
        return f"Redactor(url={self.url!r})"
