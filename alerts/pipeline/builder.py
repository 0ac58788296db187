"""Wire the stages into one pipeline:
route -> group -> inhibit -> silence -> dedup -> limit -> send (fan-out) -> record."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter

from alerts.clock import now_ms
from alerts.model import Alert
from alerts.notifylog import InMemoryNotificationLog, NotificationLog
from alerts.pipeline.config import DEFAULT_CONFIG, PipelineConfig
from alerts.pipeline.dedup import DedupStage, RecordStage
from alerts.pipeline.fanout import DEFAULT_RETRY, FanoutStage
from alerts.pipeline.group import GroupStage
from alerts.pipeline.inhibit import InhibitStage
from alerts.pipeline.notification import Notification, Stage
from alerts.pipeline.ratelimit import RateLimitStage
from alerts.pipeline.route import RouteStage
from alerts.pipeline.silence import SilenceStage
from alerts.silences import InMemorySilenceStore, SilenceStore
from alerts.sinks.base import Sink
from alerts.sinks.retry import RetryPolicy, Sleep

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = list(stages)

    async def run(self, alerts: Sequence[Alert], now_ms: int) -> list[Notification]:
        """Push one evaluation's alerts through every stage; returns what was delivered."""
        items = [Notification("", a) for a in alerts]
        for stage in self.stages:
            if not items:
                break
            items = await stage.process(items, now_ms)
        return items


def retry_policy(config: PipelineConfig) -> RetryPolicy:
    """The fan-out's retry: the config's attempts and first backoff, the fan-out's caps."""
    return dataclasses.replace(DEFAULT_RETRY, max_attempts=config.retry_attempts,
                               base_delay_s=config.retry_backoff_ms / 1000)


def build_pipeline(sinks: Mapping[str, Sink], config: PipelineConfig = DEFAULT_CONFIG, *,
                   silences: SilenceStore | None = None, log_store: NotificationLog | None = None,
                   registry: CollectorRegistry | None = None,
                   wall_clock: Callable[[], int] = now_ms,
                   sleep: Sleep | None = None) -> Pipeline:
    dropped = sent = None
    if registry is not None:
        dropped = Counter("roompulse_alert_notifications_dropped", "Notifications not sent",
                          ["reason"], registry=registry)
        sent = Counter("roompulse_alert_sink_deliveries", "Sink deliveries by outcome",
                       ["sink", "outcome"], registry=registry)
    receivers = config.receivers
    notify_log = log_store or InMemoryNotificationLog()
    return Pipeline([
        RouteStage(receivers),
        GroupStage(receivers),
        InhibitStage(config.inhibit, dropped),
        SilenceStage(silences or InMemorySilenceStore(), wall_clock, dropped),
        DedupStage(notify_log, receivers),
        RateLimitStage(receivers, dropped),
        FanoutStage(receivers, sinks, retry=retry_policy(config), counter=sent,
                    sleep=sleep or asyncio.sleep),
        RecordStage(notify_log, receivers),
    ])
