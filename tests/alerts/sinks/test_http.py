"""Redaction of credentials in URLs and texts, and Retry-After parsing (pure functions)."""

from __future__ import annotations

from alerts.sinks.http import redact, redact_url
from alerts.sinks.redact import Redactor, safe_url, url_secrets
from alerts.sinks.retry import parse_retry_after


def test_a_sink_url_is_shown_as_its_origin_only():
    url = "https://u:pw-SECRET@h.example/robot/send?access_token=T-SECRET&timestamp=1&sign=S%2B1"
    assert redact_url(url) == "https://h.example/***"
    assert safe_url("http://127.0.0.1:8080/hooks/tok3n") == "http://127.0.0.1:8080/***"
    assert safe_url("http://[::1]:81/a") == "http://[::1]:81/***"
    assert safe_url("https://h.example") == "https://h.example"
    assert safe_url("not a url") == "<unparseable url>" and safe_url(None) == "<no url>"


def test_every_piece_of_the_url_that_can_be_a_credential_is_masked_in_text():
    url = "https://h.example/hooks/abc-Tok3n-9f?key=wk-SECRET-1&name=ops"
    scrub = Redactor(url)
    echoed = [url, "/hooks/abc-Tok3n-9f", "hooks/abc-Tok3n-9f", "abc-Tok3n-9f", "wk-SECRET-1",
              "key=wk-SECRET-1&name=ops"]
    for text in echoed:
        out = scrub(f"404: no route for {text} (POST)")
        assert "Tok3n" not in out and "SECRET" not in out, out
    # Route words stay readable: platform messages such as "invalid webhook url" keep meaning.
    assert scrub("invalid webhook url, see hooks docs") == "invalid webhook url, see hooks docs"
    assert {"abc-Tok3n-9f", "wk-SECRET-1"} <= set(url_secrets(url))
    assert "hooks" not in url_secrets(url)


def test_redact_masks_encoded_forms_and_longest_first():
    secret = "a+b/c=SECRET"
    text = f"raw {secret} quoted a%2Bb%2Fc%3DSECRET plus a%2Bb%2Fc%3DSECRET"
    assert "SECRET" not in redact(text, [secret, None])
    assert redact("xx-SECRET-yy", ["SECRET", "xx-SECRET-yy"]) == "***"


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = "Sun, 22 Nov 2026 00:00:30 GMT"
    assert parse_retry_after(date, now_ms=1_795_305_600_000) == 30.0
