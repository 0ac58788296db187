"""The `roompulse.nudges` topic sink: short host text per alert, keyed by room."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from alerts.model import Alert, AlertState, Audience
from alerts.sinks.errors import DeliveryError
from alerts.sinks.publish import DEFAULT_WAIT_S, SendFn, publish
from alerts.sinks.text import host_text

log = logging.getLogger(__name__)

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
        wait_s: float = DEFAULT_WAIT_S,
    ) -> None:
        self._send = send
        self.wait_s = wait_s  # for the broker's acknowledgement (alerts.sinks.publish)
        self.topic = topic
        self.language = language
        self.audience = frozenset(audience)
        self.send_resolved = send_resolved

    def wants(self, alert: Alert) -> bool:
        if alert.state == AlertState.resolved and not self.send_resolved:
            return False
        return bool(self.audience & set(alert.audience))

    async def send(self, alerts: Sequence[Alert]) -> str:
        todo = [a for a in alerts if self.wants(a)]
        items = [(a, a.room_id.encode(), Nudge.of(a, self.language).model_dump_json().encode())
                 for a in todo]
        try:
            return await publish(self._send, self.topic, items, name="nudges",
                                 wait_s=self.wait_s)
        except DeliveryError as exc:
            log.warning("nudges: publish to %s failed: %s", self.topic, exc)
            raise
