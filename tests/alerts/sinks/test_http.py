"""Redaction of credentials in URLs and texts, and Retry-After parsing."""

from __future__ import annotations

from alerts.sinks.http import parse_retry_after, redact, redact_url


def test_redact_url_masks_credential_params_userinfo_and_known_secrets():
    url = "https://u:pw-SECRET@h.example/robot/send?access_token=T-SECRET&timestamp=1&sign=S%2B1"
    out = redact_url(url)
    assert "SECRET" not in out and "S%2B1" not in out and "timestamp=1" in out
    assert redact_url("https://x/hook/tok-SECRET", ["tok-SECRET"]) == "https://x/hook/***"


def test_redact_masks_encoded_forms():
    secret = "a+b/c=SECRET"
    text = f"raw {secret} quoted a%2Bb%2Fc%3DSECRET plus a%2Bb%2Fc%3DSECRET"
    assert "SECRET" not in redact(text, [secret, None])


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = "Sun, 22 Nov 2026 00:00:30 GMT"
    assert parse_retry_after(date, now=1795305600.0) == 30.0
