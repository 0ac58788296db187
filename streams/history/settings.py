"""HistorySettings: where broadcast history is kept and for how long (env ROOMPULSE_HISTORY_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class HistorySettings(BaseSettings):
    """The durable store of per-minute aggregates and broadcast summaries.

    Unset `url`: SQLite (Python's own sqlite3) at `<dir>/history.sqlite3`. A `postgresql://`
    URL: PostgreSQL through psycopg (`pip install 'roompulse[postgres]'`). The URL may carry a
    password, so it is a secret: errors and logs name its host and database only.
    """

    model_config = SettingsConfigDict(
        env_prefix="ROOMPULSE_HISTORY_", frozen=True, extra="ignore", env_file=None
    )

    url: SecretStr | None = Field(None, description=(
        "postgresql://user:password@host:port/db; unset = SQLite under `dir`"))
    dir: Path = Field(Path("roompulse-data"), description="data directory of the SQLite file")
    enabled: bool = Field(True, description="the worker writes history (leader only)")
    retention_days: int = Field(400, ge=1, le=36500, description=(
        "minutes and broadcasts older than this are deleted (checked hourly)"))
    interval_s: float = Field(60.0, ge=1, le=3600, description=(
        "how often the leader writes the minutes that closed (stream time) and summaries"))
    rewrite_minutes: int = Field(3, ge=0, le=30, description=(
        "closed minutes written again on every pass, so late events (within the grace) count"))
    backfill_minutes: int = Field(30, ge=0, le=30, description=(
        "after a restart or leader change, minutes written back from now at most (Redis keeps "
        "fine buckets ~35 min)"))
    summary_interval_s: float = Field(300.0, ge=0, le=86400, description=(
        "a live broadcast's summary is rewritten at most this often (and always once it has "
        "ended); it is the costly read (every product's distinct counts)"))
    max_rooms: int = Field(5000, ge=1, description="live rooms written per pass at most")
    pass_budget_s: float = Field(20.0, gt=0, description=(
        "time one pass may spend; the rooms it did not reach come first next pass (many live "
        "rooms then take several passes, the API and probes are never held behind it)"))
    host_sketches: bool = Field(True, description=(
        "merge each closed minute's distinct users into per-host HyperLogLogs in Redis, so "
        "reports from history give each host's exact UV, interaction rate and conversion (off, "
        "or on another KPI store: the minutes' distinct counts are added instead)"))
    max_hosts: int = Field(20, ge=1, le=1000, description=(
        "hosts sketched per broadcast at most (three Redis HyperLogLogs each); later ones fall "
        "back to the minutes' sums"))
    timezone: str = Field("Asia/Shanghai", description="the zone of a broadcast's date (--date)")
    connect_timeout_s: float = Field(10.0, gt=0, description="PostgreSQL connect timeout")

    def sqlite_path(self) -> Path:
        return self.dir / "history.sqlite3"
