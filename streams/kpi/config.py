"""KpiSettings: bucket sizes, retention, keyword overrides (env prefix ROOMPULSE_KPI_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DAY_MS = 86_400_000


class KpiSettings(BaseSettings):
    """How the KPI engine buckets, keeps and names its state.

    Memory bound per room: fine buckets live `bucket_ttl_s` (35 min) and coarse buckets
    `coarse_ttl_s` (13 h), so a room holds at most 210 fine + 156 coarse bucket hashes plus their
    HyperLogLogs, whatever the broadcast length. Broadcast-to-date reads use coarse buckets for
    the part older than the fine horizon (see docs/kpis.md).
    """

    model_config = SettingsConfigDict(
        env_prefix="ROOMPULSE_KPI_", frozen=True, extra="ignore", env_file=None
    )

    key_prefix: str = Field("rp", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$",
                            description="prefix of every Redis key "
                                        "(several deployments, one Redis)")
    bucket_s: int = Field(10, ge=1, le=3600, description="fine bucket length (event time)")
    bucket_ttl_s: int = Field(35 * 60, ge=60, description="wall-clock TTL of fine buckets")
    coarse_bucket_s: int = Field(300, ge=1, description="roll-up bucket, a multiple of bucket_s")
    coarse_ttl_s: int = Field(13 * 3600, ge=60, description="wall-clock TTL of coarse buckets")
    grace_s: int = Field(120, ge=0, description=(
        "events older than the partition watermark - grace are counted late (still applied)"))
    max_ahead_of_record_s: int = Field(300, ge=0, description=(
        "events whose ts is more than this ahead of their Kafka record timestamp are dead-"
        "lettered future_ts (0 disables)"))
    max_live_rooms: int = Field(5000, ge=1, description=(
        "rooms one worker tracks at once; events of further new rooms are dead-lettered "
        "room_limit until a room goes idle"))
    room_idle_s: int = Field(3600, ge=60, description=(
        "a room with no event for this long (worker wall clock) leaves the live set"))
    max_products_per_room: int = Field(500, ge=1, description=(
        "products counted separately per room; further products count under `__other__`"))
    anchored_edges_s: list[int] = Field(default_factory=lambda: [1800, 3600], description=(
        "first:N window lengths (s) read exactly to the bucket: the fine buckets around each "
        "broadcast's start + N (and its start and end) are kept as long as coarse ones"))
    audience: bool = Field(False, description=(
        "attribute viewers to the region, age band and source of their first entry, live, so "
        "reports from history have regions, age bands and each source's conversion (a "
        "per-viewer map per broadcast in Redis and worker memory; measured ~25% more worker "
        "CPU per event at the bench's mix, docs/report.md; `roompulse demo` turns it on)"))
    audience_max_users_per_room: int = Field(200_000, ge=1, description=(
        "viewers attributed per room and broadcast; further viewers are counted (`untracked`) "
        "but not attributed"))
    audience_max_users: int = Field(1_000_000, ge=1, description=(
        "viewers the worker keeps in memory across rooms (~120 bytes each); above it the rooms "
        "used longest ago are dropped and loaded again from Redis when they come back"))
    audience_max_regions: int = Field(64, ge=1, le=256, description=(
        "regions attributed separately per broadcast; further regions count under `*`"))
    audience_max_age_bands: int = Field(16, ge=1, le=32, description=(
        "age bands attributed separately per broadcast; further bands count under `*`"))
    top_n_products: int = Field(50, ge=1, description="product_kpis returns at most this many")
    ttl_cache_keys: int = Field(100_000, ge=0, description="keys whose Redis TTL the worker "
                                "remembers having set (bounds worker memory; 0 = always EXPIRE)")
    buyer_history_days: int = Field(30, ge=1, description="per-brand buyer history kept this long")
    room_ttl_s: int = Field(14 * 86400, ge=60, description="TTL of room state and product names")
    negative_keywords_file: Path | None = Field(None, description=(
        "negative-comment keyword file (sections [zh-CN], [zh-TW], [en]) that REPLACES the "
        "shipped schemas/negative_keywords.txt: copy that file and edit it; read once at start, "
        "an unreadable or empty file stops the worker with one line (unset = shipped list)"))
    negative_zh: list[str] | None = Field(None, description=(
        "replace the zh keywords (zh-CN + zh-TW) of the list in use"))
    negative_en: list[str] | None = Field(None, description=(
        "replace the en keywords of the list in use"))
    negative_extra: list[str] = Field(default_factory=list, description=(
        "keywords added to the list in use"))

    @field_validator("negative_keywords_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `ROOMPULSE_KPI_NEGATIVE_KEYWORDS_FILE=` (compose files, Helm values) means "unset",
        # not the current directory.
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check(self) -> KpiSettings:
        if self.coarse_bucket_s % self.bucket_s:
            raise ValueError("coarse_bucket_s must be a multiple of bucket_s")
        if self.bucket_ttl_s <= self.grace_s + self.bucket_s:
            raise ValueError("bucket_ttl_s must exceed grace_s + bucket_s")
        return self

    @property
    def bucket_ms(self) -> int:
        return self.bucket_s * 1000

    @property
    def coarse_ms(self) -> int:
        return self.coarse_bucket_s * 1000

    @property
    def fine_horizon_ms(self) -> int:
        """Reads use fine buckets only this far back from `now` (TTL minus grace, for safety)."""
        return (self.bucket_ttl_s - self.grace_s) * 1000

    @property
    def too_old_ms(self) -> int:
        """Events further behind the watermark than this are dead-lettered `too_old`: the
        coarse roll-ups that windows read for old data reach no further back."""
        return self.coarse_ttl_s * 1000 - self.coarse_ms

    @property
    def buyer_history_ms(self) -> int:
        return self.buyer_history_days * DAY_MS
