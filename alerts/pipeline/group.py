"""Group: give each notification its group key, so one message carries one room's alerts."""

from __future__ import annotations

from collections.abc import Sequence

from alerts.model import field_value
from alerts.pipeline.config import Receiver
from alerts.pipeline.notification import Notification


class GroupStage:
    def __init__(self, receivers: Sequence[Receiver]) -> None:
        self.group_by = {r.name: r.group_by for r in receivers}

    async def process(self, items: Sequence[Notification], now_ms: int) -> list[Notification]:
        out = [Notification(n.receiver, n.alert, tuple(
                   field_value(n.alert, f) for f in self.group_by.get(n.receiver, ())))
               for n in items]
        out.sort(key=lambda n: (n.receiver, n.group))  # stable: keeps rule order inside a group
        return out
