"""Wire the alert engine, its sinks (console, nudges, chat bots) and the console into the worker."""

from __future__ import annotations

import logging
from typing import Any

import mode

from alerts.model import Audience
from alerts.pipeline.config import DEFAULT_CONFIG, PipelineConfig, Receiver
from alerts.sinks.base import Sink
from alerts.sinks.bots import chat_sinks_from_env
from alerts.sinks.nudges import NudgeTopicSink
from alerts.sinks.recheck import StillWanted
from alerts.sinks.throttle import ThrottledNudger
from streams.alerting.evalproc import ChildSpec, EvalProcess
from streams.alerting.faustsend import faust_send
from streams.alerting.install import install
from streams.alerting.settings import AlertSettings
from streams.alerting.shards import ShardedReads
from streams.console.install import console_feed, install_worker_console
from streams.history.baselines import HistoryBaselineReader
from streams.history.install import install_history
from streams.history.settings import HistorySettings

log = logging.getLogger(__name__)


def pipeline_config(chat_names: list[str]) -> PipelineConfig:
    """The default receivers plus the console (every transition) and the host-facing sinks."""
    receivers = list(DEFAULT_CONFIG.receivers) + [
        Receiver(name="console", sinks=("console",), renotify=0),
        Receiver(name="hosts", sinks=("nudges", *chat_names),
                 audiences=(Audience.host, Audience.ops, Audience.ads_team)),
    ]
    return DEFAULT_CONFIG.model_copy(update={"receivers": tuple(receivers)})


def install_alerting(app: Any, rt: Any, settings: AlertSettings | None = None) -> Any:
    """Register the 1 s leader timer, the sinks and the console on the worker app."""
    settings = settings or AlertSettings()
    send = faust_send(app, rt.registry)
    chat = chat_sinks_from_env()
    # One throttle per channel; each keeps at most one nudge per host per interval.
    senders: dict[str, Sink] = {"nudges": NudgeTopicSink(send, topic=rt.topics.nudges,
                                                       wait_s=settings.publish_wait_s), **chat}
    throttled = {name: ThrottledNudger(sink, registry=rt.registry)
                 for name, sink in senders.items()}
    feed = console_feed(rt.redis, rt.kpi.key_prefix, room_ttl_s=rt.kpi.room_ttl_s,
                        registry=rt.registry)
    sinks: dict[str, Sink] = {"console": feed, **throttled}
    # `history` rules read past broadcasts from the history store (own connection and thread,
    # opened at the first such read); with history off they have no series.
    history = HistorySettings()
    baselines = HistoryBaselineReader(history) if history.enabled else None
    remote = None
    if settings.process and rt.redis_settings is not None:
        kw = settings.install_kwargs()
        spec = ChildSpec(rt.redis_settings, rt.kpi, rt.wait_replicas, kw["concurrency"],
                         kw["batch_rooms"], kw["read_cache"], history=history.enabled)
        remote = EvalProcess(spec, registry=rt.registry) if settings.processes == 1 else \
            ShardedReads(spec, settings.processes, registry=rt.registry)
    alerts_rt = install(app, rt.store, rt.redis, registry=rt.registry, topics=rt.topics,
                        send=send, sinks=sinks, pipeline_config=pipeline_config(list(chat)),
                        history=baselines, remote=remote,
                        # two full batches waiting = the KPI loop is not keeping up
                        behind=lambda: rt.engine.accounting.behind(
                            2 * rt.worker.batch_max_records),
                        ingest_down=lambda: rt.engine.broker.down or rt.engine.redis.down,
                        **settings.install_kwargs())
    # Held nudges are re-checked just before they go: a silence or an acknowledgement made
    # while one waited for its host's slot keeps it quiet.
    still_wanted = StillWanted(alerts_rt.silences, feed)
    for nudger in throttled.values():
        nudger.still_wanted = still_wanted
    if chat:
        log.info("chat sinks enabled: %s", ", ".join(sorted(chat)))

    @app.service
    class NudgeQueues(mode.Service):
        """Delivers queued nudges when a host's slot opens; closes chat HTTP sessions, the
        history baselines' connection and the alert-read child process."""

        async def on_start(self) -> None:
            for nudger in throttled.values():
                nudger.start()

        async def on_stop(self) -> None:
            for nudger in throttled.values():
                await nudger.stop()
            if remote is not None:
                remote.close()
            if baselines is not None:
                await baselines.close()
            for sink in chat.values():
                close = getattr(sink, "aclose", None)
                if close is not None:
                    await close()

    console = install_worker_console(app, rt, silences=alerts_rt.silences,
                                     targets=alerts_rt.config.targets)
    # History (minutes, summaries) on its own leader timer: never inside the KPI loop.
    install_history(app, rt, targets=alerts_rt.config.targets, feed=feed,
                    console=console)
    return alerts_rt
