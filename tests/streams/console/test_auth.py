"""Tokens to roles, signed sessions, proxy headers and CSRF tokens (pure logic, no I/O)."""

from __future__ import annotations

from pydantic import SecretStr

from streams.console.auth import Authenticator, LoginThrottle
from streams.console.settings import ConsoleSettings, read_token_file
from tests.streams.console.conftest import OPERATOR_TOKEN, VIEWER_TOKEN


def test_tokens_map_to_names_and_roles(settings):
    auth = Authenticator(settings)
    op, viewer = auth.login(OPERATOR_TOKEN), auth.login(VIEWER_TOKEN)
    assert (op.name, op.role, op.operator) == ("alice", "operator", True)
    assert (viewer.name, viewer.role, viewer.operator) == ("bob", "viewer", False)
    assert auth.login("nope") is None
    assert auth.login("") is None
    assert auth.login(OPERATOR_TOKEN[:-1]) is None


def test_sessions_round_trip_and_reject_forgery_and_expiry(settings):
    auth = Authenticator(settings)
    s = auth.new_session("bob", "viewer", now=1000.0)
    cookie = auth.encode(s)
    assert auth.decode(cookie, now=1001.0) == s
    assert auth.decode(cookie, now=s.expires + 1) is None
    _body, _, mac = cookie.partition(".")
    forged = auth.encode(auth.new_session("bob", "operator", now=1000.0)).partition(".")[0]
    assert auth.decode(f"{forged}.{mac}", now=1001.0) is None  # role upgrade without the key
    assert auth.decode("garbage", now=1001.0) is None
    assert auth.decode(None) is None
    # Another process with another key does not accept it.
    other = Authenticator(ConsoleSettings(session_secret=SecretStr("different")))
    assert other.decode(cookie, now=1001.0) is None


def test_random_key_when_no_secret_is_configured():
    a, b = ConsoleSettings(), ConsoleSettings()
    assert a.signing_key != b.signing_key and len(a.signing_key) == 32


def test_csrf_token_is_bound_to_the_session(settings):
    auth = Authenticator(settings)
    s1, s2 = auth.new_session("alice", "operator"), auth.new_session("alice", "operator")
    assert auth.csrf_ok(s1, auth.csrf_token(s1))
    assert not auth.csrf_ok(s1, auth.csrf_token(s2))
    assert not auth.csrf_ok(s1, None) and not auth.csrf_ok(s1, "")


def test_proxy_headers_only_when_trusted(settings):
    headers = {"X-Forwarded-User": "carol", "X-Forwarded-Role": "Operator"}
    assert Authenticator(settings).proxy_identity(headers) is None
    trusted = Authenticator(ConsoleSettings(trust_proxy_header=True))
    assert trusted.proxy_identity(headers) == ("carol", "operator")
    assert trusted.proxy_identity({"X-Forwarded-User": "dan", "X-Forwarded-Role": "root"}) == (
        "dan", "viewer")
    assert trusted.proxy_identity({}) is None


def test_tokens_from_files_and_env(tmp_path, monkeypatch):
    ops = tmp_path / "operators"
    ops.write_text("# operators\nalice:tok-a\n\nerin tok-e\n", encoding="utf-8")
    monkeypatch.setenv("ROOMPULSE_CONSOLE_OPERATOR_TOKENS_FILE", str(ops))
    monkeypatch.setenv("ROOMPULSE_CONSOLE_VIEWER_TOKENS", '{"bob": "tok-b"}')
    s = ConsoleSettings()
    assert s.tokens == {"tok-b": ("bob", "viewer"), "tok-a": ("alice", "operator"),
                        "tok-e": ("erin", "operator")}
    assert "tok-a" not in repr(s) and "tok-b" not in repr(s)


def test_bad_token_file_line_does_not_echo_the_line(tmp_path):
    bad = tmp_path / "t"
    bad.write_text("onlyonefield-secretish\n", encoding="utf-8")
    try:
        read_token_file(bad)
    except ValueError as exc:
        assert "secretish" not in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_login_throttle_per_client():
    t = LoginThrottle(limit=3, period_s=60)
    for _ in range(3):
        assert not t.blocked("a", now=0)
        t.failed("a", now=0)
    assert t.blocked("a", now=10) and not t.blocked("b", now=10)
    assert not t.blocked("a", now=61)  # the period is over
    t.failed("a", now=61)
    assert not t.blocked("a", now=62)
    t.succeeded("a")
    assert not t.blocked("a", now=62)
