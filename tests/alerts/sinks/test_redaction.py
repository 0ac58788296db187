"""No sink credential reaches a log line, an error, a repr or a metric label, even when the
receiver echoes the request path and query back (real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from alerts.pipeline.builder import build_pipeline
from alerts.pipeline.config import DEFAULT_CONFIG, Receiver
from alerts.sinks.dingtalk import DingtalkSink
from alerts.sinks.errors import DeliveryError
from alerts.sinks.feishu import FeishuSink
from alerts.sinks.retry import RetryPolicy, send_with_retry
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
from tests.alerts.sinks.conftest import make_alert

aio = pytest.mark.asyncio(loop_scope="session")

HOOK_TOKEN = "Zq81hTk-4fa0c2"  # a generic receiver's credential: the last path segment
PATH_TOKEN = "T0AB12CD/B0EF34GH/q9Wd2Lx7Rt5Yu1Io3Pa6Sd8F"
SECRETS = (HOOK_TOKEN, "wk-4b1e-77c2-SECRET", "dt51e0aa93SECRET", "fs-9c2d-SECRET", PATH_TOKEN,
           "q9Wd2Lx7Rt5Yu1Io3Pa6Sd8F", "hmac-Signing-9z")


def echo_sinks(base: str) -> dict:
    """Every chat sink pointed at the echoing receiver, each with its credential in place."""
    e = f"{base}/echo"
    return {
        "webhook": WebhookSink(WebhookSettings(url=f"{e}/hooks/{HOOK_TOKEN}",
                                               secret="hmac-Signing-9z")),
        "wecom": WecomSink(WecomSettings(key="wk-4b1e-77c2-SECRET",
                                         base_url=f"{e}/cgi-bin/webhook/send")),
        "dingtalk": DingtalkSink(DingtalkSettings(access_token="dt51e0aa93SECRET",
                                                  secret="hmac-Signing-9z",
                                                  base_url=f"{e}/robot/send")),
        "feishu": FeishuSink(FeishuSettings(token="fs-9c2d-SECRET", base_url=f"{e}/bot/v2/hook")),
        "slack": SlackSink(SlackSettings(webhook_url=f"{e}/services/{PATH_TOKEN}")),
    }


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked in {text!r}"


@pytest.mark.parametrize("status", [404, 503])
@aio
async def test_an_echoed_path_never_reaches_logs_errors_or_reprs(platforms, caplog, status):
    caplog.set_level(logging.DEBUG)
    platforms.echo_status = status
    texts = []
    for name, sink in echo_sinks(platforms.base).items():
        with pytest.raises(DeliveryError) as info:
            await send_with_retry(sink, [make_alert()], RetryPolicy(max_attempts=2,
                                                                    base_delay_s=0.001))
        await sink.aclose()
        assert info.value.retryable is (status == 503), name
        assert "no route for POST" in str(info.value)  # the receiver's words are kept
        texts += [str(info.value), repr(info.value), repr(sink), repr(sink.settings)]
    assert platforms.hits["echo"] == 5 * (2 if status == 503 else 1)
    assert_clean(caplog.text, *texts)


@aio
async def test_the_notify_pipeline_logs_and_metrics_stay_clean(platforms, caplog):
    caplog.set_level(logging.DEBUG)
    platforms.echo_status = 500
    reg = CollectorRegistry()
    sinks = echo_sinks(platforms.base)
    config = DEFAULT_CONFIG.model_copy(update={"receivers": (
        Receiver(name="hosts", sinks=tuple(sinks), renotify=0),), "retry_backoff_ms": 1})
    pipeline = build_pipeline(sinks, config, registry=reg)
    await pipeline.run([make_alert()], 1_700_000_000_000)
    for sink in sinks.values():
        await sink.aclose()
    assert platforms.hits["echo"] >= 5
    assert "sink" in caplog.text  # the failures were logged
    assert_clean(caplog.text, generate_latest(reg).decode())


@aio
async def test_refused_and_timed_out_requests_show_the_origin_only(platforms, caplog):
    caplog.set_level(logging.DEBUG)
    refused = WebhookSink(WebhookSettings(url=f"http://127.0.0.1:1/hooks/{HOOK_TOKEN}"))
    with pytest.raises(DeliveryError) as info:
        await refused.send([make_alert()])
    await refused.aclose()
    assert "http://127.0.0.1:1/***" in str(info.value)
    bad = WebhookSink(WebhookSettings(url=f"http://127.0.0.1:99999/hooks/{HOOK_TOKEN}"))
    with pytest.raises(DeliveryError) as bad_info:
        await bad.send([make_alert()])
    await bad.aclose()
    assert bad_info.value.retryable is False
    assert_clean(str(info.value), str(bad_info.value), caplog.text)


def test_a_proxy_base_url_stays_out_of_settings_and_sink_reprs():
    proxied = WecomSettings(key="wk-4b1e-77c2-SECRET",
                            base_url="https://proxy.example/p-Zq81hTk-4fa0c2/cgi-bin/webhook/send")
    assert_clean(repr(proxied), str(proxied), repr(WecomSink(proxied)))
    assert "https://proxy.example/***" in repr(WecomSink(proxied))
