"""Fan-out: send each receiver's groups to its sinks, retrying failures the sink calls retryable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from itertools import groupby

from prometheus_client import Counter

from alerts.logthrottle import LogThrottle, exc_kind
from alerts.pipeline.config import Receiver
from alerts.pipeline.notification import Notification
from alerts.sinks.base import Sink, SinkError

log = logging.getLogger(__name__)


class FanoutStage:
    """Returns the notifications every sink of their receiver accepted (or refused for good)."""

    def __init__(self, receivers: Sequence[Receiver], sinks: Mapping[str, Sink], *,
                 attempts: int = 3, backoff_ms: int = 200,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 counter: Counter | None = None) -> None:
        self.receivers = {r.name: r for r in receivers}
        self.sinks = sinks
        self.attempts, self.backoff_ms, self.sleep = attempts, backoff_ms, sleep
        self.counter = counter
        # A dead sink fails every tick: one line per sink and kind a minute, with a count.
        self._throttle = LogThrottle()

    def _count(self, sink: str, outcome: str) -> None:
        if self.counter is not None:
            self.counter.labels(sink, outcome).inc()

    async def _send(self, name: str, batch: list) -> bool:
        """True when done with the batch (sent, or failed for good); False: try again later."""
        sink = self.sinks.get(name)
        if sink is None:
            self._throttle.error(log, ("fanout-missing", name),
                                 "no sink named %r is configured", name)
            self._count(name, "missing")
            return True
        for attempt in range(1, self.attempts + 1):
            try:
                outcome = await sink.send(batch)
                # A sink may say what it did (a throttled nudger: queued, retrying): never
                # count a held nudge as sent.
                self._count(name, outcome if isinstance(outcome, str) else "sent")
                return True
            except SinkError as exc:
                if not exc.retryable:
                    self._throttle.error(log, ("fanout-refused", name),
                                         "sink %s refused %d alert(s) for good: %s",
                                         name, len(batch), exc)
                    self._count(name, "failed")
                    return True
                self._throttle.warning(log, ("fanout-retry", name),
                                       "sink %s failed (attempt %d/%d): %s",
                                       name, attempt, self.attempts, exc)
            except Exception as exc:  # noqa: BLE001 - a sink bug must not stop the other sinks
                self._throttle.exception(log, ("fanout-raised", name, exc_kind(exc)),
                                         "sink %s raised", name)
                self._count(name, "failed")
                return True
            if attempt < self.attempts:
                await self.sleep(self.backoff_ms * 2 ** (attempt - 1) / 1000)
        self._count(name, "gave_up")
        return False

    async def process(self, items: Sequence[Notification], now_ms: int) -> list[Notification]:
        done: list[Notification] = []
        key = lambda n: (n.receiver, n.group)
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
