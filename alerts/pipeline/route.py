"""Route: address each alert to every receiver whose audience, severity and rules match."""

from __future__ import annotations

from collections.abc import Sequence

from alerts.model import Alert, Severity
from alerts.pipeline.config import Receiver
from alerts.pipeline.notification import Notification


def matches(receiver: Receiver, alert: Alert) -> bool:
    if receiver.audiences is not None and not set(receiver.audiences) & set(alert.audience):
        return False
    if Severity(alert.severity).rank < receiver.min_severity.rank:
        return False
    return receiver.rules is None or alert.rule in receiver.rules


class RouteStage:
    def __init__(self, receivers: Sequence[Receiver]) -> None:
        self.receivers = list(receivers)

    async def process(self, items: Sequence[Notification], now_ms: int) -> list[Notification]:
        return [Notification(r.name, n.alert) for n in items for r in self.receivers
                if matches(r, n.alert)]
