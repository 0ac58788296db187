"""The chat-bot sinks enabled by the environment (a credential set = enabled), by sink name."""

from __future__ import annotations

from alerts.sinks.chat import ChatSink
from alerts.sinks.dingtalk import DingtalkSink
from alerts.sinks.feishu import FeishuSink
from alerts.sinks.http import HttpPoster
from alerts.sinks.slack import SlackSink
from alerts.sinks.webhook import WebhookSink
from alerts.sinks.wecom import WecomSink

SINKS: tuple[type[ChatSink], ...] = (WecomSink, DingtalkSink, FeishuSink, SlackSink, WebhookSink)


def chat_sinks_from_env(poster: HttpPoster | None = None) -> dict[str, ChatSink]:
    """{"wecom": WecomSink, ...} for every platform whose ROOMPULSE_<P>_ credential is set.
    Pass one `poster` to share a connection pool (then close it yourself)."""
    out: dict[str, ChatSink] = {}
    for sink_cls in SINKS:
        settings = sink_cls.settings_cls()
        if settings.enabled:
            out[sink_cls.name] = sink_cls(settings, poster=poster)
    return out
