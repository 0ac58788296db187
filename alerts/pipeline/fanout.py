"""Fan-out: send each receiver's groups to its sinks, retrying through alerts.sinks.retry."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from itertools import groupby

from prometheus_client import Counter

from alerts.logthrottle import LogThrottle, exc_kind
from alerts.model import Alert
from alerts.pipeline.config import Receiver
from alerts.pipeline.notification import Notification
from alerts.sinks.base import Sink
from alerts.sinks.errors import DeliveryError
from alerts.sinks.retry import RetryPolicy, Sleep, send_with_retry

log = logging.getLogger(__name__)

# The fan-out runs inside the evaluation tick, so it waits briefly: a sink that needs longer
# (a long Retry-After, an outage) gives up for this tick and its notifications, left unrecorded,
# are offered again on a later one (not before the server's Retry-After has passed).
DEFAULT_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.2, max_delay_s=2.0,
                            max_retry_after_s=5.0)
# A Retry-After holds its sink back at most this long: a broken or hostile server's "retry in a
# year" must not silence a sink until the next restart.
MAX_HOLD_S = 15 * 60.0


class FanoutStage:
    """Returns the notifications every sink of their receiver accepted (or refused for good).

    A sink that gave up with a Retry-After is not called again until it has passed (outcome
    `held`, its notifications wait unrecorded); `monotonic` is the clock for that wait."""

    def __init__(self, receivers: Sequence[Receiver], sinks: Mapping[str, Sink], *,
                 retry: RetryPolicy = DEFAULT_RETRY, sleep: Sleep = asyncio.sleep,
                 rng: random.Random | None = None, counter: Counter | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.receivers = {r.name: r for r in receivers}
        self.sinks = sinks
        self.retry, self.sleep = retry, sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter only; nothing secret
        self.counter = counter
        self.monotonic = monotonic
        # sink name -> when its Retry-After ends; at most one entry per configured sink.
        self._hold_until: dict[str, float] = {}
        # A dead sink fails every tick: one line per sink and kind a minute, with a count.
        self._throttle = LogThrottle()

    def _count(self, sink: str, outcome: str) -> None:
        if self.counter is not None:
            self.counter.labels(sink, outcome).inc()

    async def _send(self, name: str, batch: list[Alert]) -> bool:
        """True when done with the batch (sent, or failed for good); False: try again later."""
        sink = self.sinks.get(name)
        if sink is None:
            self._throttle.error(log, ("fanout-missing", name),
                                 "no sink named %r is configured", name)
            self._count(name, "missing")
            return True
        until = self._hold_until.get(name)
        if until is not None:
            if self.monotonic() < until:
                self._count(name, "held")
                return False
            del self._hold_until[name]

        def on_retry(attempt: int, exc: DeliveryError, wait: float) -> None:
            self._throttle.warning(log, ("fanout-retry", name),
                                   "sink %s failed (attempt %d/%d, next in %.2fs): %s",
                                   name, attempt, self.retry.max_attempts, wait, exc)

        try:
            sent = await send_with_retry(sink, batch, self.retry, sleep=self.sleep, rng=self.rng,
                                         on_retry=on_retry)
        except DeliveryError as exc:
            if exc.retryable:  # out of attempts, or asked to wait longer than a tick may
                if exc.retry_after:
                    self._hold_until[name] = self.monotonic() + min(exc.retry_after, MAX_HOLD_S)
                self._throttle.warning(log, ("fanout-gave-up", name),
                                       "sink %s failed; %d alert(s) left for a later "
                                       "evaluation: %s", name, len(exc.undelivered), exc)
                self._count(name, "gave_up")
                return False
            self._throttle.error(log, ("fanout-refused", name),
                                 "sink %s refused %d alert(s) for good: %s",
                                 name, len(exc.undelivered), exc)
            self._count(name, "failed")
            return True
        except Exception as exc:  # noqa: BLE001 - a sink bug must not stop the other sinks
            self._throttle.exception(log, ("fanout-raised", name, exc_kind(exc)),
                                     "sink %s raised", name)
            self._count(name, "failed")
            return True
        # A sink may say what it did (a throttled nudger: queued, retrying): never count a held
        # nudge as sent.
        self._count(name, sent.outcome if isinstance(sent.outcome, str) else "sent")
        return True

    async def process(self, items: Sequence[Notification], now_ms: int) -> list[Notification]:
        done: list[Notification] = []

        def key(n: Notification) -> tuple[str, tuple[str, ...]]:
            return (n.receiver, n.group)

        for (receiver, _), group in groupby(sorted(items, key=key), key=key):
            notes = list(group)
            r = self.receivers.get(receiver)
            if r is None:
                continue
            batch = [n.alert for n in notes]
            results = await asyncio.gather(*(self._send(s, batch) for s in r.sinks))
            if all(results):
                done.extend(notes)
        return done
