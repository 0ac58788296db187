"""ThrottledNudger: a chat sink behind the nudge policy (alerts.sinks.nudgepolicy), with the
background loop that sends held nudges, retries and the re-check of silences/acks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CollectorRegistry, Counter

from alerts.clock import now_ms
from alerts.model import Alert
from alerts.sinks.base import Sink
from alerts.sinks.errors import DeliveryError
from alerts.sinks.nudgepolicy import (
    DEFAULT_INTERVAL_MS,
    Decision,
    NudgeThrottle,
    Outcome,
    room_host,
)
from alerts.sinks.recheck import Gate
from alerts.sinks.retry import RetryPolicy, send_with_retry

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_INTERVAL_MS", "Decision", "NudgeThrottle", "Outcome", "ThrottledNudger",
           "room_host"]
DEFAULT_RETRY = RetryPolicy()
DEFAULT_MAX_RETRYING = 1_000  # batches waiting for a retry after a failed immediate send

_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, tuple[Counter, Counter]] = (
    weakref.WeakKeyDictionary())


def _counters(registry: CollectorRegistry) -> tuple[Counter, Counter]:
    """One pair of counters per registry, shared by every throttled sink (labelled by sink)."""
    if registry not in _COUNTERS:
        _COUNTERS[registry] = (
            Counter("roompulse_nudge_decisions", "Nudge throttle decisions by outcome",
                    ["sink", "outcome"], registry=registry),
            Counter("roompulse_nudge_failures", "Queued nudges that could not be delivered",
                    ["sink"], registry=registry),
        )
    return _COUNTERS[registry]


class ThrottledNudger:
    """A Sink wrapping a chat sink with a NudgeThrottle.

    `send` delivers what may go now and holds the rest; it returns the outcome the notify
    pipeline counts (`sent`, `queued`, `retrying`, `throttled`), so a held nudge is never counted
    as sent. A final failure of an immediate send is raised (the pipeline counts it `failed`);
    a retryable one (429, 5xx, timeout, a platform's rate-limit code) is handed to the
    background loop, which waits for the server's Retry-After (else backs off) instead of
    blocking the pipeline. `run` delivers held nudges when their slot opens, first asking
    `still_wanted` (silences, acknowledgements) whether they should still go; failures there
    are logged and counted, never raised. Every decision is counted by outcome."""

    def __init__(
        self,
        sink: Sink,
        throttle: NudgeThrottle | None = None,
        *,
        clock_ms: Callable[[], int] = now_ms,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        registry: CollectorRegistry | None = None,
        still_wanted: Gate | None = None,
        max_retrying: int = DEFAULT_MAX_RETRYING,
    ) -> None:
        self.sink = sink
        self.throttle = throttle if throttle is not None else NudgeThrottle()
        self.name = f"throttled-{getattr(sink, 'name', 'sink')}"
        self.still_wanted = still_wanted
        self._clock_ms = clock_ms
        self._retry, self._sleep = retry, sleep
        self._rng = random.Random()  # noqa: S311 - retry jitter, nothing secret
        self._retrying: deque[tuple[int, list[Alert]]] = deque()
        self._max_retrying = max_retrying
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        registry = registry if registry is not None else CollectorRegistry()
        self.decisions, self.failures = _counters(registry)

    def _count(self, outcome: str, n: int = 1) -> None:
        self.decisions.labels(self.name, outcome).inc(n)

    async def send(self, alerts: Sequence[Alert]) -> str:
        now, now_send, held = self._clock_ms(), [], False
        for alert in alerts:
            d = self.throttle.offer(alert, now)
            self._count(d.outcome.value)
            if d.send is not None:
                now_send.append(d.send)
            held = held or d.outcome in (Outcome.queued, Outcome.replaced)
        self._wake.set()
        if not now_send:
            return "queued" if held else "throttled"
        try:
            outcome = await self.sink.send(now_send)
        except DeliveryError as exc:
            pending = list(exc.undelivered or now_send)
            if not exc.retryable:
                for alert in pending:
                    self.throttle.release(alert)
                raise
            self._defer(pending, exc.retry_after, now)
            log.info("%s: %d nudge(s) will be retried: %s", self.name, len(pending), exc)
            return "retrying"
        except Exception:
            for alert in now_send:
                self.throttle.release(alert)
            raise
        # a topic sink may say the broker has not confirmed yet (alerts.sinks.publish)
        return "unconfirmed" if outcome == "unconfirmed" else "sent"

    def _defer(self, alerts: list[Alert], retry_after: float | None, now_ms: int) -> None:
        """Hold alerts whose immediate delivery failed retryably; they keep their host's slot."""
        if len(self._retrying) >= self._max_retrying:  # bounded: a dead sink cannot grow memory
            _, lost = self._retrying.popleft()
            self.failures.labels(self.name).inc(len(lost))
            log.warning("%s: %d nudges waiting for a retry; dropped the oldest",
                        self.name, self._max_retrying)
        wait_s = self._retry.delay(1, retry_after, self._rng)
        self._retrying.append((now_ms + int(wait_s * 1000), alerts))
        self._count("retrying", len(alerts))
        self._wake.set()

    def _take_due(self, now_ms: int) -> list[Alert]:
        due = self.throttle.due(now_ms)
        while self._retrying and self._retrying[0][0] <= now_ms:
            due.extend(self._retrying.popleft()[1])
        return due

    async def _recheck(self, due: list[Alert]) -> list[Alert]:
        """Drop nudges silenced or acknowledged since they were held; their slot is freed."""
        if self.still_wanted is None or not due:
            return due
        try:
            keep, dropped = await self.still_wanted(due)
        except Exception as exc:  # noqa: BLE001 - the store is down: rather nudge than miss one
            log.warning("%s: cannot re-check silences/acks (%s); sending held nudges anyway",
                        self.name, type(exc).__name__)
            return due
        for alert, reason in dropped:
            self._count(reason)
            self.throttle.release(alert)
            log.info("%s: held nudge %s not sent: %s since it was queued", self.name,
                     alert.fingerprint, reason)
        return keep

    async def flush_due(self) -> int:
        """Deliver the held nudges whose time has come and are still wanted; returns how many
        were attempted."""
        due = await self._recheck(self._take_due(self._clock_ms()))
        if not due:
            return 0
        try:
            await send_with_retry(self.sink, due, self._retry, sleep=self._sleep)
        except DeliveryError as exc:
            lost = len(exc.undelivered or due)
            self.failures.labels(self.name).inc(lost)
            if lost < len(due):
                self._count("sent_queued", len(due) - lost)
            log.warning("%s: queued nudge not delivered: %s", self.name, exc)
        except Exception:  # a broken sink must not stop the nudge loop
            self.failures.labels(self.name).inc(len(due))
            log.exception("%s: sink failed on queued nudges", self.name)
        else:
            self._count("sent_queued", len(due))
        return len(due)

    def next_due_ms(self) -> int | None:
        times = [t for t in (self.throttle.next_due_ms(),
                             self._retrying[0][0] if self._retrying else None) if t is not None]
        return min(times) if times else None

    async def run(self) -> None:
        while True:
            self._wake.clear()
            await self.flush_due()
            nxt = self.next_due_ms()
            timeout = None if nxt is None else max(0.0, (nxt - self._clock_ms()) / 1000)
            with contextlib.suppress(TimeoutError):  # woken by time, not by a new nudge
                await asyncio.wait_for(self._wake.wait(), timeout)

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=self.name)
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
