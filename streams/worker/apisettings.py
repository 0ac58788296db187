"""ApiSettings: the worker's HTTP API and /metrics, bounded and optionally behind tokens
(env prefix ROOMPULSE_API_)."""

from __future__ import annotations

import hmac

from pydantic import Field, SecretStr, model_validator
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

    # The probe server (streams/worker/probeserver.py): its own thread and port, so a busy event
    # loop does not delay the answer, while the answer still says how the loop is doing.
    probe_port: int | None = Field(None, ge=0, le=65535, description=(
        "port of the probe server (GET /healthz and /readyz from their own thread, bound to "
        "ROOMPULSE_WORKER_WEB_HOST); unset = the web port + 1 (6067); 0 = no probe server (the "
        "web port answers both either way)"))
    probe_loop_stale_s: float = Field(10.0, gt=0, description=(
        "the probe port's /healthz answers 503 when the event loop has not run its 0.1 s "
        "heartbeat for this long (a stuck loop fails liveness)"))
    probe_ready_every_s: float = Field(1.0, gt=0, description=(
        "the event loop runs the readiness checks (partitions, Redis PING, broker) this often; "
        "the probe port's /readyz answers from the last result"))
    probe_ready_max_age_s: float = Field(5.0, gt=0, description=(
        "a readiness result older than this (the loop did not refresh it) makes the probe "
        "port's /readyz answer 503; more than ROOMPULSE_API_PROBE_READY_EVERY_S + 0.5 s"))
    probe_max_connections: int = Field(8, ge=1, le=1000, description=(
        "connections the probe server serves at once (one thread each); more are closed "
        "unanswered and counted in roompulse_probe_connections_refused_total"))
    probe_timeout_s: float = Field(2.0, gt=0, le=60, description=(
        "a probe connection that has not sent its request within this long is closed"))

    @model_validator(mode="after")
    def _ready_age_above_interval(self) -> ApiSettings:
        # The check itself may take PING_TIMEOUT_S (0.5 s) on a hung Redis.
        if self.probe_ready_max_age_s <= self.probe_ready_every_s + 0.5:
            raise ValueError("ROOMPULSE_API_PROBE_READY_MAX_AGE_S must exceed "
                             "ROOMPULSE_API_PROBE_READY_EVERY_S + 0.5 s")
        return self

    def probe_port_for(self, web_port: int) -> int:
        """The probe server's port next to web port `web_port`; 0 = none (the web port is 0:
        any free port, which the caller resolves first)."""
        if self.probe_port is not None:
            return self.probe_port
        return web_port + 1 if 0 < web_port < 65535 else 0

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
