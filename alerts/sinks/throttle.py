"""Nudge policy: one nudge per host per interval; a higher-severity nudge replaces a queued one."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter

from alerts.model import Alert, AlertState, Severity
from alerts.sinks.base import Sink, SinkError
from alerts.sinks.retry import RetryPolicy, send_with_retry

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 120_000


class Outcome(StrEnum):
    send = "send"            # deliver now; the host's interval starts
    queued = "queued"        # held until the host's interval ends
    replaced = "replaced"    # queued, and pushed out a lower-severity queued nudge
    dropped = "dropped"      # not nudged: a queued nudge of equal/higher severity wins
    cancelled = "cancelled"  # a resolve withdrew the queued nudge for the same alert
    ignored = "ignored"      # resolved alert and resolves are not nudged


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    send: Alert | None = None       # the alert to deliver now, if any
    displaced: Alert | None = None  # the alert that lost (dropped, replaced or cancelled)


def _rank(alert: Alert) -> int:
    return Severity(alert.severity).rank


def room_host(alert: Alert) -> str:
    """Default host key: one host per room."""
    return alert.room_id


@dataclass
class NudgeThrottle:
    """Pure policy state, driven by explicit epoch-ms timestamps (no clock, no I/O)."""

    interval_ms: int = DEFAULT_INTERVAL_MS
    host_of: Callable[[Alert], str] = room_host
    nudge_resolved: bool = False
    _last_sent: dict[str, int] = field(default_factory=dict)
    _queued: dict[str, Alert] = field(default_factory=dict)

    def offer(self, alert: Alert, now_ms: int) -> Decision:
        host = self.host_of(alert)
        queued = self._queued.get(host)
        if alert.state == AlertState.resolved:
            if queued is not None and queued.fingerprint == alert.fingerprint:
                del self._queued[host]
                return Decision(Outcome.cancelled, displaced=queued)
            if not self.nudge_resolved:
                return Decision(Outcome.ignored, displaced=alert)
        if queued is None and self._free(host, now_ms):
            self._last_sent[host] = now_ms
            return Decision(Outcome.send, send=alert)
        if queued is None:
            self._queued[host] = alert
            return Decision(Outcome.queued)
        # An update of the very same alert series refreshes the queued text in place.
        if _rank(alert) > _rank(queued) or (
            queued.fingerprint == alert.fingerprint and _rank(alert) == _rank(queued)
        ):
            self._queued[host] = alert
            return Decision(Outcome.replaced, displaced=queued)
        return Decision(Outcome.dropped, displaced=alert)

    def release(self, alert: Alert) -> None:
        """Undo a `send` decision whose delivery failed, so a retry may go out at once (the slot
        was free when it was granted, so freeing it restores the state before)."""
        self._last_sent.pop(self.host_of(alert), None)

    def due(self, now_ms: int) -> list[Alert]:
        """Queued nudges whose host interval has ended; they count as sent at `now_ms`."""
        ready = [h for h in self._queued if self._free(h, now_ms)]
        out = []
        for host in ready:
            out.append(self._queued.pop(host))
            self._last_sent[host] = now_ms
        self._forget(now_ms)
        return out

    def next_due_ms(self) -> int | None:
        """When the earliest queued nudge may go out (None if nothing is queued)."""
        times = [self._last_sent.get(h, 0) + self.interval_ms for h in self._queued]
        return min(times) if times else None

    def queued(self, host: str) -> Alert | None:
        return self._queued.get(host)

    def __len__(self) -> int:
        return len(self._queued)

    def _free(self, host: str, now_ms: int) -> bool:
        last = self._last_sent.get(host)
        return last is None or now_ms - last >= self.interval_ms

    def _forget(self, now_ms: int) -> None:
        # Hosts idle for a whole interval need no memory: bounded state with many rooms.
        stale = [h for h, t in self._last_sent.items()
                 if now_ms - t >= self.interval_ms and h not in self._queued]
        for h in stale:
            del self._last_sent[h]


def wall_ms() -> int:
    return int(time.time() * 1000)


_COUNTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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

    `send` delivers what may go now and queues the rest; failures of an immediate send are raised
    as from any sink, so the caller's (pipeline fan-out's) retry applies. `run` delivers queued
    nudges when their slot opens, retrying per `retry`; final failures there are logged and
    counted, never raised. Every decision is counted by outcome."""

    def __init__(
        self,
        sink: Sink,
        throttle: NudgeThrottle | None = None,
        *,
        clock_ms: Callable[[], int] = wall_ms,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.sink = sink
        self.throttle = throttle if throttle is not None else NudgeThrottle()
        self.name = f"throttled-{getattr(sink, 'name', 'sink')}"
        self._clock_ms = clock_ms
        self._retry, self._sleep = retry, sleep
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        registry = registry if registry is not None else CollectorRegistry()
        self.decisions, self.failures = _counters(registry)

    async def send(self, alerts: Sequence[Alert]) -> None:
        now, now_send = self._clock_ms(), []
        for alert in alerts:
            d = self.throttle.offer(alert, now)
            self.decisions.labels(self.name, d.outcome.value).inc()
            if d.send is not None:
                now_send.append(d.send)
        self._wake.set()
        if now_send:
            try:
                await self.sink.send(now_send)
            except Exception as exc:
                for alert in getattr(exc, "undelivered", None) or now_send:
                    self.throttle.release(alert)
                raise

    async def flush_due(self) -> int:
        """Deliver the nudges whose slot has opened; returns how many were attempted."""
        due = self.throttle.due(self._clock_ms())
        if due:
            self.decisions.labels(self.name, "sent_queued").inc(len(due))
            try:
                await send_with_retry(self.sink, due, self._retry, sleep=self._sleep)
            except SinkError as exc:
                self.failures.labels(self.name).inc(len(getattr(exc, "undelivered", due) or due))
                log.warning("%s: queued nudge not delivered: %s", self.name, exc)
            except Exception:  # a broken sink must not stop the nudge loop
                self.failures.labels(self.name).inc(len(due))
                log.exception("%s: sink failed on queued nudges", self.name)
        return len(due)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            await self.flush_due()
            nxt = self.throttle.next_due_ms()
            timeout = None if nxt is None else max(0.0, (nxt - self._clock_ms()) / 1000)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def start(self) -> asyncio.Task:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=self.name)
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
