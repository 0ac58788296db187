"""Prometheus sink: `roompulse_alerts{room,rule,severity,state}` = number of alert series."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Gauge

from alerts.model import Alert, AlertState


class PrometheusSink:
    """Mirrors firing series (state=firing) and counts resolutions (state=resolved)."""

    name = "prometheus"

    def __init__(self, registry: CollectorRegistry, name: str = "prometheus") -> None:
        self.name = name
        self.gauge = Gauge("roompulse_alerts", "Alert series by room, rule, severity and state",
                           ["room", "rule", "severity", "state"], registry=registry)
        self.firing: dict[str, tuple[str, str, str]] = {}
        self.resolved: Tally[tuple[str, str, str]] = Tally()

    async def send(self, alerts: Sequence[Alert]) -> None:
        touched: set[tuple[str, str, str]] = set()
        for a in alerts:
            key = (a.room_id, a.rule, a.severity.value)
            touched.add(key)
            if a.state == AlertState.firing:
                self.firing[a.fingerprint] = key
            else:
                if self.firing.pop(a.fingerprint, None) is not None:
                    self.resolved[key] += 1
        counts = Tally(self.firing.values())
        for key in touched:
            self.gauge.labels(*key, "firing").set(counts.get(key, 0))
            self.gauge.labels(*key, "resolved").set(self.resolved.get(key, 0))
