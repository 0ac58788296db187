"""Silence: drop notifications an active silence matches (silences run on wall-clock time)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import Counter

from alerts.clock import now_ms
from alerts.pipeline.notification import Notification
from alerts.silences import SilenceStore


class SilenceStage:
    def __init__(self, store: SilenceStore, clock: Callable[[], int] = now_ms,
                 counter: Counter | None = None) -> None:
        self.store, self.clock, self.counter = store, clock, counter

    async def process(self, items: Sequence[Notification], now_ms: int) -> list[Notification]:
        if not items:
            return []
        active = await self.store.list(active_at=self.clock())
        if not active:
            return list(items)
        out = []
        for n in items:
            if any(s.matches(n.alert) for s in active):
                if self.counter is not None:
                    self.counter.labels("silenced").inc()
                continue
            out.append(n)
        return out
