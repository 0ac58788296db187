"""Dedup: pass new, changed and due-for-renotify alerts; record what was delivered afterwards."""

from __future__ import annotations

from collections.abc import Sequence

from alerts.model import AlertState
from alerts.notifylog import Entry, NotificationLog
from alerts.pipeline.config import Receiver
from alerts.pipeline.notification import Notification


class DedupStage:
    def __init__(self, log: NotificationLog, receivers: Sequence[Receiver]) -> None:
        self.log = log
        self.receivers = {r.name: r for r in receivers}

    def _due(self, n: Notification, last: Entry | None, now_ms: int) -> bool:
        r = self.receivers.get(n.receiver)
        if r is not None and r.every_evaluation:
            return True
        a = n.alert
        if a.state == AlertState.resolved:
            # only tell the end of an episode the receiver was told about
            return last is not None and last.state == "firing" and last.starts_at == a.starts_at
        if last is None or last.state != "firing" or last.starts_at != a.starts_at:
            return True
        renotify = r.renotify if r is not None else 0
        return renotify > 0 and now_ms - last.sent_at >= renotify

    async def process(self, items: Sequence[Notification], now_ms: int) -> list[Notification]:
        if not items:
            return []
        log = await self.log.get(n.key for n in items)
        return [n for n in items if self._due(n, log.get(n.key), now_ms)]


class RecordStage:
    """After delivery: remember firing alerts, forget resolved ones."""

    def __init__(self, log: NotificationLog, receivers: Sequence[Receiver] = ()) -> None:
        self.log = log
        self.mirrors = {r.name for r in receivers if r.every_evaluation}

    async def process(self, items: Sequence[Notification], now_ms: int) -> list[Notification]:
        kept = items
        items = [n for n in items if n.receiver not in self.mirrors]
        firing = {n.key: Entry(state="firing", sent_at=now_ms, starts_at=n.alert.starts_at)
                  for n in items if n.alert.state == AlertState.firing}
        done = [n.key for n in items if n.alert.state == AlertState.resolved]
        if firing:
            await self.log.put(firing)
        if done:
            await self.log.delete(done)
        return list(kept)
