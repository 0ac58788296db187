"""Generic webhook sink: the Alert as JSON, signed `sha256=HMAC(secret, f"{ts}.{body}")`."""

from __future__ import annotations

import hashlib
import hmac

from alerts.model import Alert
from alerts.sinks.chat import ChatSink, Request, required, reveal
from alerts.sinks.errors import DeliveryError
from alerts.sinks.http import Response, status_error
from alerts.sinks.settings import WebhookSettings

SIGNATURE_HEADER = "X-Roompulse-Signature"
TIMESTAMP_HEADER = "X-Roompulse-Timestamp"
DEFAULT_TOLERANCE_S = 300


def signature(secret: str, timestamp_s: int, body: bytes) -> str:
    """The header value: "sha256=" + hex HMAC-SHA256 of b"<timestamp>." + raw body."""
    mac = hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    header: str | None,
    *,
    now_s: float,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> bool:
    """For receivers: constant-time signature check plus a replay window on the timestamp."""
    if not timestamp or not header or not timestamp.isdigit():
        return False
    if abs(now_s - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), header)


class WebhookSink(ChatSink):
    name = "webhook"
    settings_cls = WebhookSettings
    settings: WebhookSettings

    @property
    def url(self) -> str:
        return required(self.settings.url)

    def secrets(self) -> tuple[str, ...]:
        s = self.settings
        return reveal(s.secret)

    def request(self, alert: Alert) -> Request:
        body = alert.model_dump_json().encode()
        headers = {"User-Agent": "roompulse-webhook/1"}
        if self.settings.secret is not None:
            ts = self._clock_ms() // 1000
            headers[TIMESTAMP_HEADER] = str(ts)
            headers[SIGNATURE_HEADER] = signature(self.settings.secret.get_secret_value(), ts, body)
        return self.url, body, headers

    def check(self, resp: Response) -> DeliveryError | None:
        return status_error(resp, self.name)
