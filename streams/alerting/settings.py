"""AlertSettings: where the targets and rule files live, the timer interval
(env ROOMPULSE_ALERTS_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.alerting.keys import DEFAULT_PREFIX


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROOMPULSE_ALERTS_", frozen=True, extra="ignore",
                                      env_file=None)

    targets: str | None = Field(None, description="targets YAML; unset = shipped defaults")
    rules: str | None = Field(None, description="rule YAML; unset = shipped default pack")
    interval_s: float = Field(1.0, gt=0, description="evaluation interval (leader timer)")
    max_gap_s: float = Field(30.0, gt=0, description="stream-time gap between evaluations after "
                             "which pending time restarts (downtime); raise it for fast clocks")
    key_prefix: str = Field(DEFAULT_PREFIX, min_length=1, description="Redis keys of alert state")
    budget_s: float | None = Field(None, gt=0, description=(
        "time one evaluation may spend reading rooms; the rooms left are skipped (counted) and "
        "come first next time; unset = 0.8 x interval_s"))
    # 8: at 1,000 live rooms on 2 shared cores, 4 evaluated 719 rooms a tick (the worker
    # waited on Redis), 8 evaluated 896 with tick p99 997 ms, 16 only 956 with p99 2.4 s.
    concurrency: int = Field(8, ge=1, le=64, description=(
        "batches of rooms read at once; each holds one Redis connection, so keep it well "
        "below the Redis pool size (100)"))
    # 64: fewer round trips a room, so fewer waits behind the ingest's Redis applies. At 1,000
    # live rooms on 2 shared cores with two children (one run each, fresh clone of aebd347):
    # 16 -> 982 rooms a tick (12 ticks short), 32 -> 993 / 994, 64 -> 1,000 (none short).
    batch_rooms: int = Field(64, ge=1, le=1000, description=(
        "rooms read together in one set of pipelined round trips"))
    settle_s: float = Field(15.0, ge=0, description=(
        "buckets older than a room's newest event minus this are cached between evaluations"))
    refresh_s: float = Field(300.0, gt=0, description=(
        "a room's cached sums are read again this often (jittered): late data older than "
        "settle_s reaches alerts within this time"))
    process: bool = Field(True, description=(
        "read rooms in a child process (its own core and GIL), so evaluation never competes "
        "with ingestion and the API for the worker's event loop; false = in the worker"))
    processes: int = Field(2, ge=1, le=16, description=(
        "child processes the room reads are shared by (each reads its own shard of the rooms; "
        "with process=true)"))
    cache_rooms: int = Field(10_000, ge=1, description=(
        "rooms whose window sums the evaluator caches (least recently read dropped first)"))

    publish_wait_s: float = Field(2.0, gt=0, description=(
        "how long the alerts and nudges topic sinks wait for the broker's acknowledgement; "
        "what is not acknowledged by then stays in the producer's queue (not sent twice) and "
        "the console and chat sinks behind it are not held up by a lost broker"))

    def install_kwargs(self) -> dict:
        """Keyword arguments for `streams.alerting.install.install`."""
        return {"targets_path": self.targets, "rules_path": self.rules,
                "interval": self.interval_s, "key_prefix": self.key_prefix,
                "max_gap_ms": int(self.max_gap_s * 1000),
                "budget_s": self.budget_s or 0.8 * self.interval_s,
                "concurrency": self.concurrency, "batch_rooms": self.batch_rooms,
                "publish_wait_s": self.publish_wait_s,
                "read_cache": {"settle_ms": int(self.settle_s * 1000),
                               "refresh_ms": int(self.refresh_s * 1000),
                               "max_rooms": self.cache_rooms}}
