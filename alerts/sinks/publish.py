"""Alerts as messages on a topic, through an async `send`, within a delivery deadline.

`send(topic, key, value)` enqueues one message. It may return an awaitable that completes
when the broker has acknowledged the message (a Kafka producer's delivery future), or
anything else when the message is delivered already (a test's list, `send_and_wait`).

Why a deadline, and why what misses it is not sent again: a Kafka producer waits for a lost
broker (Faust's producer request timeout is 20 minutes). A sink that waited too held the whole
notification pipeline: the console and the hosts' chat nudges behind the alerts topic never got
the `room-stalled` alerts a Kafka outage raises, and no evaluation ran until the broker came
back. Messages still unacknowledged at the deadline stay in the producer's queue and go out
when the broker returns; sending them again would publish each alert twice. The sink reports
them as "unconfirmed". What the producer refuses outright is retried (at-least-once: a message can
land twice only if the broker wrote it and its answer was lost).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from alerts.model import Alert
from alerts.sinks.errors import DeliveryError

SendFn = Callable[[str, bytes, bytes], Awaitable[object]]
DEFAULT_WAIT_S = 2.0
# Even past the deadline an enqueue gets this long: appending to a producer's buffer is
# immediate unless the buffer is full, and each message must at least be tried.
MIN_ENQUEUE_S = 0.05


async def publish(send: SendFn, topic: str, items: Sequence[tuple[Alert, bytes, bytes]], *,
                  name: str, wait_s: float = DEFAULT_WAIT_S) -> str:
    """Enqueue every (alert, key, value) in order, then wait for the acknowledgements until
    `wait_s` after the start. Returns "sent" (all acknowledged) or "unconfirmed" (some still
    in the producer's queue). Raises DeliveryError: final for a message that cannot be encoded
    or sent (ValueError/TypeError), retryable for an enqueue that failed or timed out and for
    messages the producer failed; `undelivered` names exactly those alerts."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    acks: list[tuple[Alert, asyncio.Future[Any]]] = []
    for i, (alert, key, value) in enumerate(items):
        try:
            result = await asyncio.wait_for(
                send(topic, key, value), max(deadline - loop.time(), MIN_ENQUEUE_S))
        except (ValueError, TypeError) as exc:  # the message itself is wrong: final
            raise DeliveryError(f"{name}: cannot publish {alert.fingerprint}: {exc}",
                                retryable=False,
                                undelivered=[a for a, *_ in items[i:]]) from exc
        except Exception as exc:  # broker down, buffer full, timeout: worth another try
            raise DeliveryError(f"{name}: publish to {topic} failed: {_kind(exc)}",
                                retryable=True,
                                undelivered=[a for a, *_ in items[i:]]) from exc
        if inspect.isawaitable(result):
            acks.append((alert, asyncio.ensure_future(result)))
    if acks:
        await asyncio.wait([f for _, f in acks], timeout=max(deadline - loop.time(), 0))
    failed = [(a, f.exception()) for a, f in acks if f.done() and not f.cancelled()
              and f.exception() is not None]
    if failed:
        raise DeliveryError(f"{name}: the broker did not take {len(failed)} message(s): "
                            f"{_kind(failed[0][1])}", retryable=True,
                            undelivered=[a for a, _ in failed])
    return "unconfirmed" if any(not f.done() for _, f in acks) else "sent"


def _kind(exc: Any) -> str:
    text = str(exc)[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
