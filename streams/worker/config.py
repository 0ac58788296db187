"""WorkerSettings: the KPI worker's knobs, env prefix ROOMPULSE_WORKER_."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    """Consumer group, batching, fetching, web server and dedup memory of one worker process."""

    model_config = SettingsConfigDict(
        env_prefix="ROOMPULSE_WORKER_", frozen=True, extra="ignore", env_file=None
    )

    app_id: str = Field("roompulse-worker", description=(
        "Faust app id (its group: leader election and timers)"))
    group_id: str = Field("roompulse-kpi", description="consumer group of the batched KPI loop")
    batch_max_records: int = Field(10_000, ge=1, le=1_000_000,
                                   description="messages per fetched batch (one Redis apply each)")
    batch_min_records: int = Field(1_000, ge=1, le=1_000_000, description=(
        "a smaller fetch asks again for up to batch_linger_ms (fewer, larger Redis applies: "
        "the apply's cost is mostly per room touched)"))
    # 50 ms: at 200 the bench's p99 latency at 50k events/s rose from ~280 to ~505 ms
    batch_linger_ms: int = Field(50, ge=0, le=5_000, description=(
        "longest wait for a batch to reach batch_min_records; 0 = apply each fetch as is"))
    fetch_timeout_ms: int = Field(100, ge=1, description="getmany() wait when nothing is buffered")
    fetch_max_wait_ms: int = Field(100, ge=0, description="broker-side wait for a fetch to fill")
    fetch_max_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="bytes per fetch response")
    max_partition_fetch_bytes: int = Field(8 * 1024 * 1024, ge=1024,
                                           description="bytes per partition per fetch")
    commit_interval_s: float = Field(1.0, ge=0,
                                     description="best-effort Kafka commits (for lag tools)")
    web_host: str = Field("127.0.0.1", description="HTTP bind address (0.0.0.0 to expose)")
    web_port: int = Field(6066, ge=0, le=65535, description="HTTP API, /metrics and console")
    dedup_size: int = Field(20_000, ge=1, description="event_ids remembered per partition")
    metrics_windows: list[str] = Field(default_factory=lambda: ["5m"],
                                        description="windows of the scrape-time KPI gauges")
    alerts_enabled: bool = Field(True, description="run the alert evaluator, sinks and console")
    mmap_threshold_kib: int = Field(128, ge=0, description=(
        "allocations this large or larger are mmapped and returned to the OS when freed "
        "(glibc; 0 = leave malloc's adaptive default)"))
    broker_silent_s: float = Field(3.0, gt=0, description=(
        "no fetch response for this long while fetching = the Kafka broker is reported down"))
    retry_cap_s: float = Field(5.0, gt=0, description="cap of the Redis/Kafka retry backoff")
    deadletter_max_bytes: int = Field(256 * 1024, ge=8 * 1024, le=1_000_000, description=(
        "largest dead-letter record (key + JSON); a larger one carries a prefix of the original, "
        "its length and SHA-256 and `truncated: true`; keep it below the broker's "
        "message.max.bytes"))
    shutdown_deadline_s: float = Field(9.0, gt=0, le=300, description=(
        "after SIGTERM/SIGINT (or a crash) the worker stops gracefully; still running after "
        "this long, it logs one line and exits with code 75 (Redis offsets keep it exact)"))
    switch_interval_ms: float = Field(1.0, ge=0, le=100, description=(
        "the GIL switch interval (CPython's default is 5): shorter lets the event loop (probes, "
        "API) take the GIL back sooner from the prepare and /metrics threads; 0 = leave it"))
    loop_stall_ms: int = Field(1000, ge=0, description=(
        "the event loop blocked this long logs the stack that blocked it (one line per stall, "
        "throttled) and counts roompulse_worker_loop_stalls_total; 0 = no watchdog thread"))
    start_timeout_s: float = Field(30.0, gt=0, description=(
        "at start, Kafka (topic creation) and Redis (PING) must answer within this long, or the "
        "worker prints one line naming the address and exits with code 1"))
