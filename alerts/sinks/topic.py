"""Topic sink: firing and resolved alerts as JSON on `roompulse.alerts`, keyed by room."""

from __future__ import annotations

from collections.abc import Sequence

from alerts.model import Alert
from alerts.sinks.publish import DEFAULT_WAIT_S, SendFn, publish

__all__ = ["SendFn", "TopicSink", "alert_json"]


def alert_json(alert: Alert) -> bytes:
    """The documented wire format (docs/alerts.md#alert-json): the Alert model as JSON."""
    return alert.model_dump_json().encode()


class TopicSink:
    """Takes an async `send(topic, key, value)` so alerts/ needs no Kafka client of its own;
    waits `wait_s` at most for the broker (alerts.sinks.publish says why)."""

    name = "topic"

    def __init__(self, send: SendFn, topic: str = "roompulse.alerts", name: str = "topic",
                 wait_s: float = DEFAULT_WAIT_S) -> None:
        self._send, self.topic, self.name, self.wait_s = send, topic, name, wait_s

    async def send(self, alerts: Sequence[Alert]) -> str:
        items = [(a, a.room_id.encode(), alert_json(a)) for a in alerts]
        return await publish(self._send, self.topic, items, name=f"topic {self.topic}",
                             wait_s=self.wait_s)
