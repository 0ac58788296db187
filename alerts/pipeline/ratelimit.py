"""Rate limit: at most N firing notifications per receiver per minute; resolutions always pass."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from prometheus_client import Counter

from alerts.model import AlertState
from alerts.pipeline.config import Receiver
from alerts.pipeline.notification import Notification

MINUTE_MS = 60_000


class RateLimitStage:
    def __init__(self, receivers: Sequence[Receiver], counter: Counter | None = None) -> None:
        self.limits = {r.name: r.rate_limit_per_min for r in receivers if r.rate_limit_per_min}
        self.sent: dict[str, deque[int]] = {}
        self.counter = counter

    async def process(self, items: Sequence[Notification], now_ms: int) -> list[Notification]:
        out = []
        # the most severe first, so a flood of warnings cannot crowd out a critical alert
        ranked = sorted(items, key=lambda n: -n.alert.severity.rank)
        keep: set[int] = set()
        for n in ranked:
            limit = self.limits.get(n.receiver)
            if limit is None or n.alert.state == AlertState.resolved:
                keep.add(id(n))
                continue
            q = self.sent.setdefault(n.receiver, deque())
            while q and now_ms - q[0] >= MINUTE_MS:
                q.popleft()
            if len(q) < limit:
                q.append(now_ms)
                keep.add(id(n))
            elif self.counter is not None:
                self.counter.labels("rate_limited").inc()
        out = [n for n in items if id(n) in keep]
        return out
