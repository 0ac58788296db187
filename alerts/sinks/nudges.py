"""The `roompulse.nudges` topic sink: short host text per alert, keyed by room."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from alerts.model import Alert, AlertState, Audience
from alerts.sinks.errors import DeliveryError
from alerts.sinks.text import host_text

log = logging.getLogger(__name__)

# send(topic, key, value): e.g. a wrapper over aiokafka's producer.send_and_wait.
SendFn = Callable[[str, bytes, bytes], Awaitable[object]]
DEFAULT_TOPIC = "roompulse.nudges"


class Nudge(BaseModel):
    """One message on the nudges topic (JSON): what a host-facing screen shows."""

    model_config = ConfigDict(frozen=True)

    room_id: str
    fingerprint: str
    rule: str
    severity: str
    state: AlertState
    lang: str
    title: str
    action: str
    text: str
    product_id: str | None = None
    at_ms: int

    @classmethod
    def of(cls, alert: Alert, lang: str = "zh-CN") -> Nudge:
        t = host_text(alert, lang)
        return cls(
            room_id=alert.room_id, fingerprint=alert.fingerprint, rule=alert.rule,
            severity=alert.severity.value, state=alert.state, lang=t.lang, title=t.title,
            action=t.action, text=str(t), product_id=alert.product_id,
            at_ms=alert.ends_at if alert.ends_at is not None else alert.starts_at,
        )


class NudgeTopicSink:
    """Publishes a `Nudge` per wanted alert to the nudges topic (key = room_id)."""

    name = "nudges"

    def __init__(
        self,
        send: SendFn,
        *,
        topic: str = DEFAULT_TOPIC,
        language: Literal["zh-CN", "en"] = "zh-CN",
        audience: Sequence[Audience] = (Audience.host,),
        send_resolved: bool = False,
    ) -> None:
        self._send = send
        self.topic = topic
        self.language = language
        self.audience = frozenset(audience)
        self.send_resolved = send_resolved

    def wants(self, alert: Alert) -> bool:
        if alert.state == AlertState.resolved and not self.send_resolved:
            return False
        return bool(self.audience & set(alert.audience))

    async def send(self, alerts: Sequence[Alert]) -> None:
        todo = [a for a in alerts if self.wants(a)]
        for i, alert in enumerate(todo):
            value = Nudge.of(alert, self.language).model_dump_json().encode()
            try:
                await self._send(self.topic, alert.room_id.encode(), value)
            except (ValueError, TypeError) as exc:  # the message itself is wrong: final
                raise DeliveryError(f"nudges: cannot publish {alert.fingerprint}: {exc}",
                                    retryable=False, undelivered=tuple(todo[i:])) from exc
            except Exception as exc:  # broker errors are transient from a sink's point of view
                log.warning("nudges: publish to %s failed: %s", self.topic, type(exc).__name__)
                raise DeliveryError(
                    f"nudges: publish to {self.topic} failed: {type(exc).__name__}: {exc}",
                    retryable=True, undelivered=tuple(todo[i:]),
                ) from exc
