"""ApiSettings: the worker's HTTP API and /metrics, bounded and optionally behind tokens
(env prefix ROOMPULSE_API_)."""

from __future__ import annotations

import hmac

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Who may read the KPI API and /metrics, and how much one request may cost.

    Tokens are off by default: the worker binds 127.0.0.1 unless ROOMPULSE_WORKER_WEB_HOST says
    otherwise. Set them before exposing the port; /healthz and /readyz stay open for probes.
    """

    model_config = SettingsConfigDict(env_prefix="ROOMPULSE_API_", frozen=True, extra="ignore",
                                      env_file=None)

    tokens: SecretStr | None = Field(None, description=(
        "comma-separated bearer tokens for /api/* (`Authorization: Bearer <token>`); "
        "unset = no authentication"))
    metrics_token: SecretStr | None = Field(None, description=(
        "bearer token for /metrics (Prometheus `authorization.credentials_file`); unset = open"))
    rooms_page_max: int = Field(500, ge=1, le=10_000, description=(
        "most rooms one GET /api/rooms returns (`limit`; default page 100)"))
    rooms_listing_ttl_s: float = Field(1.0, ge=0, description=(
        "GET /api/rooms reads every room's state at most this often, whatever the request rate"))
    metrics_max_rooms: int = Field(200, ge=0, description=(
        "rooms exported as KPI gauges on /metrics (most recently active first); the rest are "
        "counted in roompulse_metrics_kpi_rooms_dropped"))
    metrics_max_series: int = Field(20_000, ge=0, description=(
        "KPI gauge series (room, product, source) one scrape exports at most"))
    metrics_budget_s: float = Field(1.0, gt=0, description=(
        "time one scrape may spend reading KPIs; rooms not read in time are dropped and "
        "roompulse_metrics_truncated{reason=\"time\"} is 1"))

    metrics_max_loop_share: float = Field(0.2, gt=0, le=1, description=(
        "largest share of the worker's event loop the /metrics KPI refresh may take: a refresh "
        "that took T s is reused by scrapes for T / share s (counted in "
        "roompulse_metrics_kpi_reused_total); 1 = refresh on every scrape"))

    def api_token_list(self) -> list[str]:
        if self.tokens is None:
            return []
        return [t.strip() for t in self.tokens.get_secret_value().split(",") if t.strip()]


def bearer_ok(header: str | None, tokens: list[str]) -> bool:
    """True when no token is configured, or the header carries one of them (constant time)."""
    if not tokens:
        return True
    if not header or not header.startswith("Bearer "):
        return False
    given = header[7:].strip().encode()
    ok = False
    for t in tokens:  # no early exit: the time does not tell which token nearly matched
        ok |= hmac.compare_digest(given, t.encode())
    return ok
