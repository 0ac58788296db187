"""Feishu / Lark custom-bot sink: card or text messages, optional signature in the body."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import quote

import orjson

from alerts.model import Alert, AlertState, Severity
from alerts.sinks.chat import ChatSink, Request, required, reveal
from alerts.sinks.errors import DeliveryError
from alerts.sinks.http import Response, platform_error
from alerts.sinks.settings import FeishuSettings

# 11232: frequency limited (100/min, 5/s per bot). 9499 is "Bad Request" (malformed body): final.
RETRYABLE_CODES = frozenset({11232})
_TEMPLATE = {Severity.critical: "red", Severity.warning: "orange", Severity.info: "blue"}


def sign(timestamp_s: int, secret: str) -> str:
    """Documented signature: HMAC-SHA256 keyed with f"{timestamp}\\n{secret}" over an EMPTY
    message, base64 (unlike DingTalk, the string-to-sign is the key)."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuSink(ChatSink):
    name = "feishu"
    settings_cls = FeishuSettings
    settings: FeishuSettings

    @property
    def url(self) -> str:
        token = quote(required(self.settings.token), safe="")
        return f"{self.settings.base_url.rstrip('/')}/{token}"

    def secrets(self) -> tuple[str, ...]:
        s = self.settings
        return reveal(s.token, s.secret)

    def payload(self, alert: Alert) -> dict[str, Any]:
        t = self.text(alert)
        if self.settings.msg_type == "text":
            body: dict[str, Any] = {"msg_type": "text", "content": {"text": str(t)}}
        else:
            template = "green" if alert.state == AlertState.resolved else _TEMPLATE[
                Severity(alert.severity)
            ]
            card: dict[str, Any] = {
                "config": {"wide_screen_mode": True},
                "header": {"title": {"tag": "plain_text", "content": t.title},
                           "template": template},
                "elements": [],
            }
            if t.action:
                card["elements"].append(
                    {"tag": "div", "text": {"tag": "plain_text", "content": t.action}}
                )
            body = {"msg_type": "interactive", "card": card}
        if self.settings.secret is not None:
            ts = self._clock_ms() // 1000
            body = {"timestamp": str(ts),
                    "sign": sign(ts, self.settings.secret.get_secret_value()), **body}
        return body

    def request(self, alert: Alert) -> Request:
        return self.url, orjson.dumps(self.payload(alert)), {}

    def check(self, resp: Response) -> DeliveryError | None:
        return platform_error(
            resp, self.name, code_keys=("code", "StatusCode"), msg_keys=("msg", "StatusMessage"),
            retryable_codes=RETRYABLE_CODES,
        )
