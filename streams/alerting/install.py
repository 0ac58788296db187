"""`install(app, store, ...)`: run the alert engine on a Faust leader timer, every second."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from alerts.evaluator import Evaluator
from alerts.history import HistoryBaselines
from alerts.logthrottle import THROTTLE, exc_kind
from alerts.pipeline import PipelineConfig, build_pipeline
from alerts.pipeline.config import DEFAULT_CONFIG
from alerts.reader import KpiReader
from alerts.reload import AlertConfig
from alerts.remote import RemoteReads
from alerts.sinks.base import Sink
from alerts.sinks.prometheus import PrometheusSink
from alerts.sinks.publish import DEFAULT_WAIT_S, SendFn
from alerts.sinks.topic import TopicSink
from streams.alerting.faustsend import faust_send
from streams.alerting.keys import DEFAULT_PREFIX
from streams.alerting.redis_state import (
    RedisNotificationLog,
    RedisSeriesStore,
    RedisSilenceStore,
)
from streams.alerting.runtime import AlertRuntime
from streams.alerting.withhistory import KpiReaderWithHistory
from streams.kpi.roomread import RoomWindowReader
from streams.kpi.store_base import KpiStoreBase
from streams.settings import TopicSettings

log = logging.getLogger(__name__)
BEHIND_SHARE = 0.25  # of the tick budget, while the KPI loop has a backlog


def build_runtime(store: KpiReader, redis: Any, *, registry: CollectorRegistry,
                  send: SendFn, topics: TopicSettings | None = None,
                  targets_path: str | None = None, rules_path: str | None = None,
                  sinks: Mapping[str, Sink] | None = None,
                  pipeline_config: PipelineConfig = DEFAULT_CONFIG,
                  key_prefix: str = DEFAULT_PREFIX, max_gap_ms: int = 30_000,
                  budget_s: float | None = None, concurrency: int = 4, batch_rooms: int = 16,
                  read_cache: dict | None = None,
                  history: HistoryBaselines | None = None,
                  remote: RemoteReads | None = None,
                  publish_wait_s: float = DEFAULT_WAIT_S) -> AlertRuntime:
    """Everything but the timer: used by `install` and by tests against a real Redis.

    `history` (streams.history.baselines) gives `history` rules the room's past broadcasts;
    without it they have no series. `remote` reads the rooms elsewhere (evalproc.EvalProcess);
    the lifecycle steps here either way."""
    topics = topics or TopicSettings()
    config = AlertConfig(targets_path, rules_path, registry=registry)
    silences = RedisSilenceStore(redis, key_prefix)
    all_sinks: dict[str, Sink] = {"topic": TopicSink(send, topics.alerts,
                                                     wait_s=publish_wait_s),
                                  "prometheus": PrometheusSink(registry)}
    all_sinks.update(sinks or {})
    # A KPI store (streams.kpi) is read through the batched, caching window reader; any other
    # KpiReader window by window.
    batch = RoomWindowReader(store, **(read_cache or {})) \
        if isinstance(store, KpiStoreBase) else None
    evaluator = Evaluator(config.rules, config.targets, RedisSeriesStore(redis, key_prefix),
                          max_gap_ms=max_gap_ms, registry=registry, budget_s=budget_s,
                          concurrency=concurrency, chunk=batch_rooms, batch=batch)
    evaluator.remote = remote
    pipeline = build_pipeline(all_sinks, pipeline_config, silences=silences,
                              log_store=RedisNotificationLog(redis, key_prefix),
                              registry=registry)
    reader = store if history is None else KpiReaderWithHistory(store, history)
    return AlertRuntime(reader, evaluator, pipeline, config, silences)


def install(app: Any, store: KpiReader, redis: Any, *, registry: CollectorRegistry,
            topics: TopicSettings | None = None, interval: float = 1.0,
            send: SendFn | None = None, behind: Callable[[], bool] | None = None,
            ingest_down: Callable[[], bool] | None = None, **kw: Any) -> AlertRuntime:
    """Register the leader timer on `app`; returns the runtime (its `.silences` backs the API)."""
    rt = build_runtime(store, redis, registry=registry, send=send or faust_send(app, registry),
                       topics=topics, **kw)
    if ingest_down is not None:
        rt.ingest_down = ingest_down  # the stream clock holds meanwhile (runtime.StreamClock)

    @app.task
    async def evaluate_alerts() -> None:
        """On the leader, one tick every `interval` seconds, start to start. (Faust's timer
        sleeps a whole interval AFTER each run: a 0.9 s tick came every 1.9 s.) A tick that
        overruns is followed by the next at once, never by a burst of catch-up ticks."""
        due = time.monotonic()
        budget = rt.evaluator.budget_s
        while True:
            due += interval
            # Ingestion first: while the KPI loop has a backlog (`behind`), a tick gets a
            # fraction of its budget, so evaluation (same event loop, same core) cannot starve
            # the loop that feeds it; alerts on KPIs that lag reality are worth little anyway.
            if budget is not None and behind is not None:
                rt.evaluator.budget_s = budget * (BEHIND_SHARE if behind() else 1.0)
            if app.is_leader():
                try:
                    await rt.tick()
                except Exception as exc:  # noqa: BLE001 - Redis blips etc.: next tick
                    THROTTLE.exception(log, ("alert-tick", exc_kind(exc)),
                                       "alert evaluation failed")
            else:
                # leadership moved on: the alert-read child (and its caches) goes; a new one
                # starts if this worker leads again
                close = getattr(rt.evaluator.remote, "close", None)
                if close is not None:
                    close()
            now = time.monotonic()
            due = max(due, now)
            await asyncio.sleep(due - now)

    @app.task
    async def reload_on_sighup() -> None:
        """SIGHUP re-reads the targets and rule files at once."""
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP,
                                                          lambda: rt.config.check(True))
        except (RuntimeError, NotImplementedError, ValueError):
            log.debug("no SIGHUP handler (not the main thread)")

    app.roompulse_alerts = rt  # the lead's HTTP silence endpoints use rt.silences
    return rt
