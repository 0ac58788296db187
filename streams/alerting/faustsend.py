"""`send(topic, key, value)` over the Faust app's producer, for the topic sinks.

It enqueues and returns the delivery future without waiting for it: the sinks decide how long
to wait (alerts.sinks.publish: a lost broker must not hold the notification pipeline). Every
delivery that fails, before or after a sink stopped waiting, is counted by topic and logged
(one line per topic and minute): a message the producer drops after the sink moved on would
otherwise vanish without a trace.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from alerts.logthrottle import THROTTLE, exc_kind
from alerts.sinks.publish import SendFn

log = logging.getLogger(__name__)


def faust_send(app: Any, registry: CollectorRegistry | None = None) -> SendFn:
    """A `send(topic, key, value)` over `app`'s producer (raw bytes in, delivery future out)."""
    failed = Counter("roompulse_alert_publish_failed_total",
                     "Alert and nudge messages the Kafka producer failed to deliver (counted "
                     "when it gives up, also after the sink stopped waiting)", ["topic"],
                     registry=registry if registry is not None else CollectorRegistry())
    topics: dict[str, Any] = {}

    def delivered(topic: str, fut: asyncio.Future[Any]) -> None:
        if fut.cancelled():
            return
        exc = fut.exception()  # retrieved here, so asyncio never logs it as forgotten
        if exc is not None:
            failed.labels(topic).inc()
            THROTTLE.warning(log, ("publish-failed", topic, exc_kind(exc)),
                             "the producer could not deliver a message to %s: %s", topic,
                             exc_kind(exc))

    async def send(topic: str, key: bytes, value: bytes) -> asyncio.Future[Any]:
        if topic not in topics:
            topics[topic] = app.topic(topic, key_serializer="raw", value_serializer="raw")
        fut = asyncio.ensure_future(await topics[topic].send(key=key, value=value))
        fut.add_done_callback(lambda f: delivered(topic, f))
        return fut

    return send
