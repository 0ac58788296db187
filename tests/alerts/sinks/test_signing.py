"""Signatures: DingTalk 加签, Feishu 签名校验 and the generic webhook HMAC, against vectors computed
independently with `openssl dgst -sha256 -hmac` and the docs' own Python samples."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

from alerts.sinks import dingtalk, feishu, webhook


def test_dingtalk_sign_matches_openssl_and_the_documented_sample():
    ts, secret = 1577262236757, "SEC1234567890abcdef"
    assert dingtalk.sign(ts, secret) == "f7qQ1A8KagEZ45y1gasTtKsEq5ERTeDXP9T+WkIqzDk="
    # The docs' Python sample (key = secret, message = "timestamp\nsecret", then quote_plus).
    code = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), digestmod=hashlib.sha256).digest()
    documented = urllib.parse.quote_plus(base64.b64encode(code))
    assert urllib.parse.quote_plus(dingtalk.sign(ts, secret)) == documented


def test_dingtalk_signed_url_carries_ms_timestamp_and_encoded_sign():
    from alerts.sinks.settings import DingtalkSettings

    sink = dingtalk.DingtalkSink(
        DingtalkSettings(access_token="tok", secret="SEC1234567890abcdef"),
        clock_ms=lambda: 1577262236757,
    )
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(sink.signed_url()).query)
    assert q["timestamp"] == ["1577262236757"]
    assert q["sign"] == ["f7qQ1A8KagEZ45y1gasTtKsEq5ERTeDXP9T+WkIqzDk="]


def test_feishu_sign_uses_the_string_as_key_over_an_empty_message():
    want = "GnmU6lMJMtXPkxW7kXxgtXI0SJxjk0TQFnFuz93Dt+0="
    assert feishu.sign(1599360473, "feishu-secret") == want
    # Not the DingTalk construction: same inputs, different result.
    assert feishu.sign(1599360473, "feishu-secret") != dingtalk.sign(1599360473, "feishu-secret")


def test_feishu_body_carries_seconds_timestamp_and_sign():
    from alerts.sinks.settings import FeishuSettings
    from tests.alerts.sinks.conftest import make_alert

    sink = feishu.FeishuSink(FeishuSettings(token="t", secret="feishu-secret"),
                             clock_ms=lambda: 1599360473900)
    body = sink.payload(make_alert())
    assert body["timestamp"] == "1599360473"
    assert body["sign"] == "GnmU6lMJMtXPkxW7kXxgtXI0SJxjk0TQFnFuz93Dt+0="
    assert body["msg_type"] == "interactive" and body["card"]["header"]["template"] == "orange"


def test_webhook_signature_and_verify():
    sig = webhook.signature("whsec", 1700000000, b'{"a":1}')
    assert sig == "sha256=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032"
    ok = dict(secret="whsec", body=b'{"a":1}', timestamp="1700000000", header=sig)
    assert webhook.verify(**ok, now_s=1700000100)
    assert not webhook.verify(**ok, now_s=1700000000 + 301)  # replay window
    assert not webhook.verify(**{**ok, "body": b'{"a":2}'}, now_s=1700000000)
    assert not webhook.verify(**{**ok, "timestamp": "1700000001"}, now_s=1700000000)
    assert not webhook.verify(**{**ok, "header": None}, now_s=1700000000)
