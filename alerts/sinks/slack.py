"""Slack incoming-webhook sink: text + one mrkdwn section block; honours 429 Retry-After."""

from __future__ import annotations

from typing import Any

import orjson

from alerts.model import Alert
from alerts.sinks.chat import ChatSink, Request, required
from alerts.sinks.errors import DeliveryError
from alerts.sinks.http import Response, status_error
from alerts.sinks.settings import SlackSettings


def escape(s: str) -> str:
    """Slack's required escaping of the three control characters in message text."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackSink(ChatSink):
    name = "slack"
    settings_cls = SlackSettings
    settings: SlackSettings

    @property
    def url(self) -> str:
        return required(self.settings.webhook_url)

    def secrets(self) -> tuple[str, ...]:
        # The whole URL is the credential; the poster masks it and each of its path pieces.
        return (self.url,)

    def payload(self, alert: Alert) -> dict[str, Any]:
        t = self.text(alert)
        md = f"*{escape(t.title)}*"
        if t.action:
            md += f"\n{escape(t.action)}"
        return {
            "text": escape(str(t)),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": md}}],
        }

    def request(self, alert: Alert) -> Request:
        return self.url, orjson.dumps(self.payload(alert)), {}

    def check(self, resp: Response) -> DeliveryError | None:
        # Success is HTTP 200 with body "ok"; errors are a status plus a short code as the body
        # (invalid_payload, no_service, channel_is_archived ...): only 429/5xx are retried.
        err = status_error(resp, self.name)
        if err is None and resp.text.strip() != "ok":
            err = DeliveryError(
                f"{self.name}: unexpected response {resp.text[:100]!r}",
                retryable=False, status=resp.status,
            )
        if err is not None:
            err.code = resp.text.strip()[:64] or None
        return err
