"""Nudge policy: one nudge per host per interval; a higher-severity nudge replaces a queued one.

Pure state driven by explicit epoch-ms timestamps (no clock, no I/O); alerts.sinks.throttle
drives it for a real sink."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from alerts.model import Alert, AlertState, Severity

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
