"""The benchmark's baseline: a plain per-event Faust agent updating the same Redis keys.

Run as `python -m streams.bench.baseline` with the ROOMPULSE_* environment of the bench. Each
event is decoded, folded and applied (with its offset) in its own Redis step: the textbook
Faust shape the batched worker is compared with.
"""

from __future__ import annotations

import asyncio
import os
import time

import faust

from schemas.decode import DeadLetter, decode
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_cluster import kpi_store
from streams.settings import KafkaSettings, RedisSettings, TopicSettings
from streams.worker.app import redis_client

GROUP = "baseline"


def create_baseline_app(kafka: KafkaSettings, redis_settings: RedisSettings,
                        topics: TopicSettings, kpi: KpiSettings, app_id: str) -> faust.App:
    if not kafka.bootstrap:
        raise ValueError("the baseline needs ROOMPULSE_KAFKA_BOOTSTRAP")
    app = faust.App(
        app_id, broker=[f"kafka://{h}" for h in kafka.bootstrap.split(",")], store="memory://",
        processing_guarantee="at_least_once", consumer_auto_offset_reset="earliest",
        broker_session_timeout=kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=kafka.heartbeat_interval_ms / 1000,
        broker_rebalance_timeout=kafka.rebalance_timeout_ms / 1000,
        web_enabled=False, topic_partitions=topics.partitions,
    )
    state: dict = {}
    topic = app.topic(*topics.inputs, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")

    @app.agent(topic)
    async def per_event(stream):
        if "store" not in state:
            state["store"] = kpi_store(redis_client(redis_settings), kpi)
        store = state["store"]
        async for event in stream.events():
            msg = event.message
            ev = decode(msg.value, now_ms=int(time.time() * 1000))
            folder = BatchFolder(kpi)
            if not isinstance(ev, DeadLetter):
                folder.add(ev)
            await store.apply(folder.take(), {(msg.topic, msg.partition): msg.offset + 1},
                              GROUP, int(time.time() * 1000))

    return app


def main() -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())
    app = create_baseline_app(KafkaSettings(), RedisSettings(), TopicSettings(), KpiSettings(),
                              os.environ.get("ROOMPULSE_WORKER_APP_ID", "roompulse-baseline"))
    faust.Worker(app, loglevel="warning", redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()
