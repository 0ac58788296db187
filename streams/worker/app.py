"""The Faust application factory: web server, timers and the control agent around the KPI loop."""

from __future__ import annotations

import contextlib
import logging
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import faust
import mode
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from streams.kpi.config import KpiSettings
from streams.kpi.negative import NegativeClassifier
from streams.kpi.store_cluster import kpi_store
from streams.kpi.store_redis import RedisKpiStore
from streams.redisclient import redis_client
from streams.settings import KafkaSettings, RedisSettings, TopicSettings
from streams.worker.apisettings import ApiSettings
from streams.worker.config import WorkerSettings
from streams.worker.engine import KpiEngine
from streams.worker.looplag import LoopLag
from streams.worker.metrics import KpiCollector, WorkerMetrics

__all__ = ["Runtime", "WorkerSettings", "create_app", "redis_client"]
log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything the worker's services and views share."""

    kafka: KafkaSettings
    topics: TopicSettings
    worker: WorkerSettings
    kpi: KpiSettings
    redis: aioredis.Redis
    registry: CollectorRegistry
    wait_replicas: int = 0  # Redis Cluster: see RedisSettings.wait_replicas
    # how to connect again from another process (the alert evaluation's: alerting.evalproc)
    redis_settings: RedisSettings | None = None
    store: RedisKpiStore = field(init=False)
    metrics: WorkerMetrics = field(init=False)
    collector: KpiCollector = field(init=False)
    engine: KpiEngine = field(init=False)
    loop_lag: LoopLag = field(init=False)

    def __post_init__(self) -> None:
        # A bad ROOMPULSE_KPI_NEGATIVE_KEYWORDS_FILE fails the start (one line), not the first
        # batch; the classifier is cached, so the batches reuse this one.
        NegativeClassifier.from_settings(self.kpi)
        self.store = kpi_store(self.redis, self.kpi, self.wait_replicas)
        self.metrics = WorkerMetrics(self.registry)
        self.collector = KpiCollector(self.store, self.worker.metrics_windows,
                                      self.kpi.top_n_products)
        self.registry.register(self.collector)
        self.loop_lag = LoopLag(self.registry, stall_s=self.worker.loop_stall_ms / 1000)
        # Every input, the control topic included, goes through the one ingest path.
        inputs = list(self.topics.inputs)
        self.engine = KpiEngine(self.kafka, inputs, self.topics.deadletter, self.worker,
                                self.kpi, self.store, self.metrics)


def _faust_broker(kafka: KafkaSettings) -> list[str]:
    if not kafka.bootstrap:
        raise ValueError("Kafka bootstrap must be resolved before building the app")
    return [f"kafka://{host.strip()}" for host in kafka.bootstrap.split(",") if host.strip()]


def _credentials(kafka: KafkaSettings):
    if not kafka.sasl_mechanism:
        return None
    password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
    tls = kafka.security_protocol.upper() == "SASL_SSL"
    return faust.SASLCredentials(username=kafka.sasl_username, password=password,
                                 mechanism=kafka.sasl_mechanism,
                                 ssl_context=ssl.create_default_context() if tls else None)


def create_app(kafka: KafkaSettings, redis_settings: RedisSettings, topics: TopicSettings,
               worker: WorkerSettings | None = None, kpi: KpiSettings | None = None,
               registry: CollectorRegistry | None = None,
               api: ApiSettings | None = None) -> faust.App:
    """Build the worker app. `kafka` and `redis_settings` must point at running servers."""
    worker = worker or WorkerSettings()
    rt = Runtime(kafka=kafka, topics=topics, worker=worker, kpi=kpi or KpiSettings(),
                 redis=redis_client(redis_settings), registry=registry or CollectorRegistry(),
                 wait_replicas=redis_settings.wait_replicas, redis_settings=redis_settings)
    app = faust.App(
        worker.app_id,
        broker=_faust_broker(kafka),
        broker_credentials=_credentials(kafka),
        store="memory://",
        # Tables live in memory (Redis holds the state), so Faust's data directory stays empty;
        # by default it is `<app id>-data` in the current directory, one more per test or bench
        # group. Under the system temp directory instead.
        datadir=Path(tempfile.gettempdir()) / f"roompulse-faust-{worker.app_id}",
        # Exactly-once needs transactions, which Tansu lacks; Redis offsets give exactness.
        processing_guarantee="at_least_once",
        broker_session_timeout=kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=kafka.heartbeat_interval_ms / 1000,
        broker_rebalance_timeout=kafka.rebalance_timeout_ms / 1000,
        consumer_auto_offset_reset="earliest",
        producer_compression_type=kafka.compression,
        topic_partitions=topics.partitions,
        web_enabled=True,
        web_bind=worker.web_host,
        web_host=worker.web_host,
        web_port=worker.web_port,
    )
    app.roompulse = rt  # type: ignore[attr-defined]  # our runtime rides on the app

    @app.service
    class KpiLoop(mode.Service):
        """Runs the batched KPI engine inside the Faust worker."""

        async def on_start(self) -> None:
            await rt.engine.start()

        @mode.Service.task
        async def _loop_lag(self) -> None:
            await rt.loop_lag.run()

        @mode.Service.task
        async def _run_engine(self) -> None:
            try:
                await rt.engine.run()
            except Exception as exc:
                # Crash the worker rather than skip data: a restart resumes from Redis offsets.
                log.exception("KPI loop failed; stopping the worker")
                await self.crash(exc)

        async def on_stop(self) -> None:
            with contextlib.suppress(Exception):
                await rt.engine.stop()
            with contextlib.suppress(Exception):
                await rt.redis.aclose()

    from streams.worker.web import register_views

    register_views(app, rt, api)  # after KpiLoop: the probe server reports its loop-lag task
    if worker.alerts_enabled:
        from streams.worker.wiring import install_alerting

        install_alerting(app, rt)
    return app
