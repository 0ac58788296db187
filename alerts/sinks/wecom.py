"""WeCom (企业微信) group-robot sink: markdown, or text with @mobiles, via the webhook key."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson

from alerts.model import Alert, Severity
from alerts.sinks.chat import ChatSink, Request, required, reveal
from alerts.sinks.errors import DeliveryError
from alerts.sinks.http import Response, platform_error
from alerts.sinks.settings import WecomSettings

# 45009: API frequency limit (a robot may send 20 messages a minute); -1: system busy.
RETRYABLE_CODES = frozenset({45009, -1})
# WeCom markdown knows three font colours: info (green), comment (grey), warning (orange-red).
_COLOR = {Severity.critical: "warning", Severity.warning: "warning", Severity.info: "info"}


class WecomSink(ChatSink):
    name = "wecom"
    settings_cls = WecomSettings
    settings: WecomSettings

    @property
    def url(self) -> str:
        key = required(self.settings.key)
        return f"{self.settings.base_url}?{urlencode({'key': key})}"

    def secrets(self) -> tuple[str, ...]:
        return reveal(self.settings.key)

    def payload(self, alert: Alert) -> dict[str, Any]:
        t = self.text(alert)
        if self.settings.msgtype == "text":
            text: dict[str, Any] = {"content": str(t)}
            if self.settings.mentioned_mobiles:
                text["mentioned_mobile_list"] = list(self.settings.mentioned_mobiles)
            return {"msgtype": "text", "text": text}
        color = "info" if alert.state == "resolved" else _COLOR[Severity(alert.severity)]
        content = f'<font color="{color}">{_md(t.title)}</font>'
        if t.action:
            content += f"\n> {_md(t.action)}"
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def request(self, alert: Alert) -> Request:
        return self.url, orjson.dumps(self.payload(alert)), {}

    def check(self, resp: Response) -> DeliveryError | None:
        return platform_error(
            resp, self.name, code_keys=("errcode",), msg_keys=("errmsg",),
            retryable_codes=RETRYABLE_CODES,
        )


def _md(s: str) -> str:
    # Keep alert text from being read as markup (links, emphasis, font tags).
    return s.replace("<", "＜").replace(">", "＞").replace("[", "［").replace("]", "］").replace(
        "*", "＊"
    )
