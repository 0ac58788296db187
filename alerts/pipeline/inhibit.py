"""Inhibit: a firing source alert (a stalled room) mutes that room's other firing alerts."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from alerts.model import AlertState, field_value
from alerts.pipeline.config import InhibitRule
from alerts.pipeline.notification import Notification


class InhibitStage:
    def __init__(self, rules: Sequence[InhibitRule], counter: Counter | None = None) -> None:
        self.rules = list(rules)
        self.counter = counter

    def _muted(self, n: Notification, sources: list[tuple[InhibitRule, set[tuple[str, ...]]]]
               ) -> bool:
        a = n.alert
        if a.state != AlertState.firing:
            return False  # resolutions always go through, or a receiver never hears the end
        for rule, keys in sources:
            if a.rule == rule.source_rule:
                continue
            if rule.target_rules is not None and a.rule not in rule.target_rules:
                continue
            if tuple(field_value(a, f) for f in rule.equal) in keys:
                return True
        return False

    async def process(self, items: Sequence[Notification], now_ms: int) -> list[Notification]:
        # Per rule, the set of `equal` keys its firing sources hold: one lookup per alert and
        # rule, not a scan of every source (thousands of firing alerts make that quadratic).
        sources = [(r, {tuple(field_value(n.alert, f) for f in r.equal) for n in items
                        if n.alert.rule == r.source_rule
                        and n.alert.state == AlertState.firing})
                   for r in self.rules]
        sources = [(r, keys) for r, keys in sources if keys]
        out = []
        for n in items:
            if sources and self._muted(n, sources):
                if self.counter is not None:
                    self.counter.labels("inhibited").inc()
                continue
            out.append(n)
        return out
