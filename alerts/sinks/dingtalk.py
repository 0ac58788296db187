"""DingTalk (钉钉) custom-robot sink: markdown messages, optional 加签 signed URL, @mobiles."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

import orjson

from alerts.model import Alert
from alerts.sinks.chat import ChatSink, Request, required, reveal
from alerts.sinks.errors import DeliveryError
from alerts.sinks.http import Response, platform_error
from alerts.sinks.settings import DingtalkSettings

# 130101: "send too fast" (20 messages a minute per robot); -1: system busy.
RETRYABLE_CODES = frozenset({130101, -1})


def sign(timestamp_ms: int, secret: str) -> str:
    """Documented 加签: base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")).
    The caller URL-encodes it (urlencode does)."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingtalkSink(ChatSink):
    name = "dingtalk"
    settings_cls = DingtalkSettings
    settings: DingtalkSettings

    @property
    def url(self) -> str:
        token = required(self.settings.access_token)
        return f"{self.settings.base_url}?{urlencode({'access_token': token})}"

    def signed_url(self) -> str:
        if self.settings.secret is None:
            return self.url
        ts = self._clock_ms()
        sig = sign(ts, self.settings.secret.get_secret_value())
        return f"{self.url}&{urlencode({'timestamp': ts, 'sign': sig})}"

    def secrets(self) -> tuple[str, ...]:
        s = self.settings
        return reveal(s.access_token, s.secret)

    def payload(self, alert: Alert) -> dict[str, Any]:
        t = self.text(alert)
        mobiles = list(self.settings.at_mobiles)
        # DingTalk only notifies @mobiles that also appear in the markdown text.
        mention = "".join(f" @{m}" for m in mobiles)
        text = f"#### {t.title}"
        if t.action or mention:
            text += f"\n> {t.action}{mention}"
        return {
            "msgtype": "markdown",
            "markdown": {"title": t.title, "text": text},
            "at": {"atMobiles": mobiles, "isAtAll": self.settings.at_all},
        }

    def request(self, alert: Alert) -> Request:
        return self.signed_url(), orjson.dumps(self.payload(alert)), {}

    def check(self, resp: Response) -> DeliveryError | None:
        return platform_error(
            resp, self.name, code_keys=("errcode",), msg_keys=("errmsg",),
            retryable_codes=RETRYABLE_CODES,
        )
