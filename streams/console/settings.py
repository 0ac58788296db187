"""Console settings (env prefix ROOMPULSE_CONSOLE_): who may log in, and how sessions are signed."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROLES = ("viewer", "operator")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(text: str) -> str | None:
    """`scheme://host[:port]` in the form browsers send in `Origin` (lower case, default port
    left out), or None when `text` is not such an origin (a path, `null`, no scheme...)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    keep_port = port is not None and port != _DEFAULT_PORTS[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if keep_port else "")


def _origins(v: Any) -> Any:
    if isinstance(v, str):
        v = [p for p in v.strip("[]").replace('"', "").split(",") if p.strip()]
    out = []
    for item in v or ():
        origin = normalize_origin(str(item))
        if origin is None:
            raise ValueError(f"{item!r} is not an origin such as https://console.example.com")
        out.append(origin)
    return tuple(out)


Origins = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_origins)]


def read_token_file(path: Path) -> dict[str, SecretStr]:
    """`name:token` (or `name token`) per line; blank lines and `#` comments are skipped."""
    out: dict[str, SecretStr] = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        sep = ":" if ":" in line else None
        name, _, token = line.partition(sep) if sep else line.partition(" ")
        name, token = name.strip(), token.strip()
        if not name or not token:
            # Never echo the line: it may hold a token.
            raise ValueError(f"{path}:{n}: expected 'name:token'")
        out[name] = SecretStr(token)
    return out


class ConsoleSettings(BaseSettings):
    """Operators can acknowledge and silence; viewers only watch. Tokens map name -> secret."""

    model_config = SettingsConfigDict(
        env_prefix="ROOMPULSE_CONSOLE_", frozen=True, extra="ignore", env_file=None
    )

    enabled: bool = Field(True, description="serve the console at /console/")
    base_path: str = Field("/console", description="URL prefix of the console pages and API")
    operator_tokens: dict[str, SecretStr] = Field(
        default_factory=dict, description='JSON {"name": "token"}; env ..._OPERATOR_TOKENS')
    viewer_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    operator_tokens_file: Path | None = Field(None, description="file of name:token lines")
    viewer_tokens_file: Path | None = Field(None, description="file of name:token lines")
    trust_proxy_header: bool = Field(
        False, description="take the user and role from a trusted reverse proxy's headers")
    proxy_user_header: str = Field("X-Forwarded-User", description="user header of a trusted proxy")
    proxy_role_header: str = Field("X-Forwarded-Role", description="role header (operator|viewer)")
    session_secret: SecretStr | None = Field(
        None, description="HMAC key for session cookies; unset = random per process")
    session_ttl_s: int = Field(12 * 3600, ge=60, description="log-in session lifetime")
    cookie_secure: bool = Field(False, description="set behind HTTPS so the cookie is Secure")
    default_lang: str = Field("zh-CN", description="zh-CN or en")
    max_silence_minutes: int = Field(24 * 60, ge=1,
                                     description="longest silence an operator may set")
    alert_log_max_per_room: int = Field(500, ge=10, le=100_000, description=(
        "entries of each room's alert log (transitions and acknowledgements, history's alert "
        "timeline) kept in Redis; the oldest go first, counted in "
        "roompulse_console_alert_log_trimmed_total; the log expires with the room "
        "(ROOMPULSE_KPI_ROOM_TTL_S)"))
    allowed_origins: Origins = Field(
        (), description="origins (scheme://host[:port], comma list) whose pages may change "
        "state (log out, acknowledge, silence); unset = the console on this server's port at "
        "localhost / 127.0.0.1 / [::1] only")

    @field_validator("base_path")
    @classmethod
    def _base(cls, v: str) -> str:
        v = "/" + v.strip("/")
        return "" if v == "/" else v

    @field_validator("default_lang")
    @classmethod
    def _lang(cls, v: str) -> str:
        if v not in ("zh-CN", "en"):
            raise ValueError("default_lang is zh-CN or en")
        return v

    @cached_property
    def tokens(self) -> dict[str, tuple[str, str]]:
        """token -> (name, role); operator wins when the same token is listed twice."""
        table: dict[str, tuple[str, str]] = {}
        viewers = dict(self.viewer_tokens)
        if self.viewer_tokens_file:
            viewers.update(read_token_file(self.viewer_tokens_file))
        operators = dict(self.operator_tokens)
        if self.operator_tokens_file:
            operators.update(read_token_file(self.operator_tokens_file))
        for role, names in (("viewer", viewers), ("operator", operators)):
            for name, token in names.items():
                value = token.get_secret_value()
                if value:
                    table[value] = (name, role)
        return table

    @cached_property
    def signing_key(self) -> bytes:
        if self.session_secret is not None and self.session_secret.get_secret_value():
            return self.session_secret.get_secret_value().encode()
        return secrets.token_bytes(32)
