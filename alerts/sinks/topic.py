"""Topic sink: firing and resolved alerts as JSON on `roompulse.alerts`, keyed by room."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from alerts.model import Alert
from alerts.sinks.errors import DeliveryError

SendFn = Callable[[str, bytes, bytes], Awaitable[object]]


def alert_json(alert: Alert) -> bytes:
    """The documented wire format (docs/alerts.md#alert-json): the Alert model as JSON."""
    return alert.model_dump_json().encode()


class TopicSink:
    """Takes an async `send(topic, key, value)` so alerts/ needs no Kafka client of its own."""

    name = "topic"

    def __init__(self, send: SendFn, topic: str = "roompulse.alerts", name: str = "topic") -> None:
        self._send, self.topic, self.name = send, topic, name

    async def send(self, alerts: Sequence[Alert]) -> None:
        for i, alert in enumerate(alerts):
            try:
                await self._send(self.topic, alert.room_id.encode(), alert_json(alert))
            except (ValueError, TypeError) as exc:  # the message itself is wrong: final
                raise DeliveryError(f"cannot send alert {alert.fingerprint}: {exc}",
                                    retryable=False, undelivered=alerts[i:]) from exc
            except Exception as exc:  # broker down, timeout: worth another try
                raise DeliveryError(f"topic {self.topic}: {type(exc).__name__}: {exc}",
                                    retryable=True, undelivered=alerts[i:]) from exc
