"""Retry for sinks: only retryable SinkErrors, exponential backoff with full jitter, bounded.

Used for queued nudges (they are sent outside the notify pipeline) and meant for the pipeline's
fan-out too: it honours DeliveryError.retry_after (Slack 429) and .undelivered (partial batches)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from alerts.model import Alert
from alerts.sinks.base import Sink, SinkError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (1-based) waits uniform(0, min(max_delay_s, base_delay_s * 2**(n-1))) before
    the next try, or the server's Retry-After when it sent one (capped at max_retry_after_s)."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        return rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


async def send_with_retry(
    sink: Sink,
    alerts: Sequence[Alert],
    policy: RetryPolicy = RetryPolicy(),
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> int:
    """Deliver `alerts`, retrying retryable failures; returns the attempts used.

    After a partial failure only the undelivered alerts (SinkError.undelivered, when the sink
    provides it) are sent again. The last error is raised when attempts run out or a failure is
    not retryable."""
    rng = rng or random.Random()
    pending = list(alerts)
    name = getattr(sink, "name", "sink")
    for attempt in range(1, policy.max_attempts + 1):
        try:
            await sink.send(pending)
            return attempt
        except SinkError as exc:
            undelivered = getattr(exc, "undelivered", None)
            if undelivered:
                pending = list(undelivered)
            if not exc.retryable or attempt == policy.max_attempts:
                log.warning("%s: giving up after %d attempt(s): %s", name, attempt, exc)
                raise
            wait = policy.delay(attempt, getattr(exc, "retry_after", None), rng)
            log.info("%s: attempt %d failed (%s); retrying in %.2fs", name, attempt, exc, wait)
            await sleep(wait)
    raise AssertionError("unreachable")

