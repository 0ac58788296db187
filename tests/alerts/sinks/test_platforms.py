"""Each chat sink against a real local server enforcing the platform's format, signing and codes."""

from __future__ import annotations

import logging

import pytest

from alerts.model import Alert, Audience
from alerts.sinks.base import Sink
from alerts.sinks.chat import ChatSink
from alerts.sinks.dingtalk import DingtalkSink
from alerts.sinks.errors import DeliveryError
from alerts.sinks.feishu import FeishuSink
from alerts.sinks.settings import (
    DingtalkSettings,
    FeishuSettings,
    SlackSettings,
    WebhookSettings,
    WecomSettings,
)
from alerts.sinks.slack import SlackSink
from alerts.sinks.webhook import WebhookSink
from alerts.sinks.wecom import WecomSink
from tests.alerts.sinks import platforms as P
from tests.alerts.sinks.conftest import make_alert
from tests.alerts.sinks.platforms import Forced

pytestmark = pytest.mark.asyncio(loop_scope="session")


def sink_for(platform: str, base: str, **over) -> ChatSink:
    if platform == "wecom":
        return WecomSink(WecomSettings(key=over.pop("key", P.WECOM_KEY),
                                       base_url=f"{base}/cgi-bin/webhook/send", **over))
    if platform == "dingtalk":
        return DingtalkSink(DingtalkSettings(
            access_token=over.pop("access_token", P.DINGTALK_TOKEN),
            secret=over.pop("secret", P.DINGTALK_SECRET), base_url=f"{base}/robot/send", **over))
    if platform == "feishu":
        return FeishuSink(FeishuSettings(
            token=over.pop("token", P.FEISHU_TOKEN), secret=over.pop("secret", P.FEISHU_SECRET),
            base_url=f"{base}/open-apis/bot/v2/hook", **over))
    if platform == "slack":
        return SlackSink(SlackSettings(
            webhook_url=f"{base}/services/{over.pop('path', P.SLACK_PATH)}", **over))
    return WebhookSink(WebhookSettings(url=f"{base}/hook",
                                       secret=over.pop("secret", P.WEBHOOK_SECRET), **over))


PLATFORMS = ["wecom", "dingtalk", "feishu", "slack", "webhook"]


def assert_no_secret(*texts: str, extra: tuple[str, ...] = ()) -> None:
    for text in texts:
        for secret in P.ALL_SECRETS + extra:
            assert secret not in text, f"secret leaked: {text!r}"


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_delivers_in_the_documented_format(platforms, alert: Alert, platform: str):
    sink = sink_for(platform, platforms.base)
    assert isinstance(sink, Sink)
    try:
        await sink.send([alert])
    finally:
        await sink.aclose()
    [body] = platforms.accepted[platform]
    text = str(body)
    if platform == "webhook":
        assert Alert.model_validate(body) == alert
    else:
        assert "加购率突增" in text and "延长该商品讲解" in text


async def test_variants_text_msgtypes_and_mentions(platforms, alert: Alert):
    wecom = sink_for("wecom", platforms.base, msgtype="text", mentioned_mobiles=("13800001111",))
    feishu = sink_for("feishu", platforms.base, msg_type="text", language="en")
    ding = sink_for("dingtalk", platforms.base, at_mobiles=("13900002222",))
    for s in (wecom, feishu, ding):
        await s.send([alert])
        await s.aclose()
    [w] = platforms.accepted["wecom"]
    assert w["text"]["mentioned_mobile_list"] == ["13800001111"]
    assert w["text"]["content"].count("\n") == 1
    [f] = platforms.accepted["feishu"]
    assert f["content"]["text"].startswith("[HEADS-UP] Add-to-cart rate")
    [d] = platforms.accepted["dingtalk"]
    assert d["at"]["atMobiles"] == ["13900002222"] and "@13900002222" in d["markdown"]["text"]


async def test_audience_and_resolved_filters(platforms):
    sink = sink_for("wecom", platforms.base)
    ops_only = make_alert(audience=(Audience.ops,))
    resolved = make_alert(state="resolved")
    await sink.send([ops_only, resolved])
    await sink.aclose()
    assert platforms.hits["wecom"] == 0


@pytest.mark.parametrize("platform,over,code", [
    ("wecom", {"key": "wrong-key-SECRET"}, 93000),
    ("dingtalk", {"secret": "SECwrong-secret"}, 310000),
    ("dingtalk", {"access_token": "wrong-token-SECRET"}, 300001),
    ("feishu", {"secret": "wrong-secret-SECRET"}, 19021),
    ("feishu", {"token": "wrong-token-SECRET"}, 19001),
    ("slack", {"path": "T0/B0/wrong-SECRET"}, "no_service"),
    ("webhook", {"secret": "wrong-secret-SECRET"}, "bad signature"),
])
async def test_rejections_are_final_and_never_leak_secrets(
    platforms, alert, caplog, platform, over, code
):
    caplog.set_level(logging.DEBUG)
    sink = sink_for(platform, platforms.base, **over)
    with pytest.raises(DeliveryError) as info:
        await sink.send([alert])
    await sink.aclose()
    exc = info.value
    assert exc.retryable is False
    assert exc.code == code or str(code) in str(exc)
    assert exc.undelivered == (alert,)
    assert_no_secret(str(exc), repr(exc), repr(sink), caplog.text, extra=tuple(over.values()))


@pytest.mark.parametrize("platform,forced,retry_after", [
    ("wecom", Forced(body={"errcode": 45009, "errmsg": "api freq out of limit"}), None),
    ("dingtalk", Forced(body={"errcode": 130101, "errmsg": "send too fast"}), None),
    ("feishu", Forced(status=400, body={"code": 11232, "msg": "frequency limited"}), None),
    ("slack", Forced(status=429, body="rate_limited", headers={"Retry-After": "7"}), 7.0),
    ("webhook", Forced(status=503, body="busy"), None),
    ("wecom", Forced(status=502, body="bad gateway"), None),
])
async def test_rate_limits_and_server_errors_are_retryable(
    platforms, alert, platform, forced, retry_after
):
    platforms.force(platform, forced)
    sink = sink_for(platform, platforms.base)
    with pytest.raises(DeliveryError) as info:
        await sink.send([alert])
    await sink.aclose()
    assert info.value.retryable is True
    assert info.value.retry_after == retry_after


@pytest.mark.parametrize("platform,forced", [
    ("feishu", Forced(status=400, body={"code": 9499, "msg": "Bad Request"})),
    ("slack", Forced(status=400, body="invalid_payload")),
    ("slack", Forced(status=410, body="channel_is_archived")),
    ("wecom", Forced(body={"errcode": 40008, "errmsg": "invalid message type"})),
    ("wecom", Forced(body="<html>proxy</html>")),
    ("webhook", Forced(status=404, body="nope")),
])
async def test_other_client_errors_are_final(platforms, alert, platform, forced):
    platforms.force(platform, forced)
    sink = sink_for(platform, platforms.base)
    with pytest.raises(DeliveryError) as info:
        await sink.send([alert])
    await sink.aclose()
    assert info.value.retryable is False


async def test_connection_refused_and_timeout_are_retryable_and_redacted(platforms, alert, caplog):
    caplog.set_level(logging.DEBUG)
    refused = sink_for("dingtalk", "http://127.0.0.1:1")
    with pytest.raises(DeliveryError) as info:
        await refused.send([alert])
    await refused.aclose()
    assert info.value.retryable is True
    platforms.force("feishu", Forced(delay_s=1.0, body={"code": 0}))
    slow = sink_for("feishu", platforms.base, timeout_s=0.1)
    with pytest.raises(DeliveryError) as slow_info:
        await slow.send([alert])
    await slow.aclose()
    assert slow_info.value.retryable is True and "timeout" in str(slow_info.value)
    assert_no_secret(str(info.value), str(slow_info.value), caplog.text)


async def test_partial_failure_reports_only_the_undelivered(platforms):
    a, b = make_alert(room="r1"), make_alert(room="r2")
    platforms.force("slack", Forced(body="ok"), Forced(status=500, body="oops"))
    sink = sink_for("slack", platforms.base)
    with pytest.raises(DeliveryError) as info:
        await sink.send([a, b])
    await sink.aclose()
    assert info.value.undelivered == (b,)
