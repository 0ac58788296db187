"""The one retry for alert delivery: the notify pipeline's fan-out and the queued-nudge loop.

Only a DeliveryError the sink marked retryable is tried again (a 400 or a bad credential never
is); the wait is the server's Retry-After when it sent one (delta-seconds or an HTTP date), else
exponential backoff with full jitter, capped; attempts are bounded. After a partial failure only
the alerts the sink reports undelivered are sent again, so nobody gets a message twice.

The worker's retry (streams.worker.retry) is deliberately another thing: it retries Redis and the
broker until they come back, with no attempt limit and one log line per outage; it has no
Retry-After, no notion of retryable answers and no batch to narrow. Shared code would be a flag
per difference, so each keeps its own loop."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC

from alerts import clock
from alerts.model import Alert
from alerts.sinks.base import Sink
from alerts.sinks.errors import DeliveryError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
OnRetry = Callable[[int, DeliveryError, float], None]  # (failed attempt, its error, wait s)


def parse_retry_after(value: str | None, *, now_ms: int | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), else None.
    A date in the past means "now" (0.0); anything unreadable is ignored (None)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 9110 dates are GMT whatever the zone says
        when = when.replace(tzinfo=UTC)
    now = clock.now_ms() if now_ms is None else now_ms
    return max(0.0, when.timestamp() - now / 1000)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (1-based) waits uniform(0, min(max_delay_s, base_delay_s * 2**(n-1))) before
    the next try, or the server's Retry-After when it sent one. A Retry-After longer than
    max_retry_after_s ends the retries: trying sooner than the server asked only earns another
    429, and a caller that cannot wait that long (the notify pipeline) tries again later."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """The wait after failed attempt `attempt`; a Retry-After is capped at max_retry_after_s
        (for callers that hold the alerts instead of sleeping, e.g. the nudge throttle)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        return rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))

    def next_wait(self, attempt: int, exc: DeliveryError, rng: random.Random) -> float | None:
        """Seconds to wait before another try after failed attempt `attempt`; None = stop."""
        if not exc.retryable or attempt >= self.max_attempts:
            return None
        if exc.retry_after is not None and exc.retry_after > self.max_retry_after_s:
            return None
        return self.delay(attempt, exc.retry_after, rng)


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Sent:
    """A delivery that succeeded: the attempts it took and the outcome the sink reported
    (None = sent; a throttling sink may say "queued", "retrying"...)."""

    attempts: int
    outcome: str | None


def _log_retry(name: str) -> OnRetry:
    def on_retry(attempt: int, exc: DeliveryError, wait: float) -> None:
        log.info("%s: attempt %d failed (%s); retrying in %.2fs", name, attempt, exc, wait)
    return on_retry


async def send_with_retry(
    sink: Sink,
    alerts: Sequence[Alert],
    policy: RetryPolicy = DEFAULT_POLICY,
    *,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
    on_retry: OnRetry | None = None,
) -> Sent:
    """Deliver `alerts`, retrying what the policy allows; raises the last DeliveryError when a
    failure is final, attempts run out or the server asks for more than the policy waits (its
    `undelivered` then names what is still pending). Other exceptions (a sink bug) propagate
    at once: retrying a bug only repeats it. `on_retry(attempt, error, wait_s)` is called before
    each wait (default: an info log line)."""
    rng = rng or random.Random()  # noqa: S311 - jitter spreads retries; nothing secret
    on_retry = on_retry or _log_retry(getattr(sink, "name", "sink"))
    pending = list(alerts)
    attempt = 1
    while True:
        try:
            return Sent(attempt, await sink.send(pending))
        except DeliveryError as exc:
            if exc.undelivered:
                pending = list(exc.undelivered)
            else:
                exc.undelivered = tuple(pending)
            wait = policy.next_wait(attempt, exc, rng)
            if wait is None:
                raise
            on_retry(attempt, exc, wait)
        await sleep(wait)
        attempt += 1


__all__ = ["DEFAULT_POLICY", "RetryPolicy", "Sent", "parse_retry_after", "send_with_retry"]
