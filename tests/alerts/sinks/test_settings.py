"""Sink settings: env prefixes, secrets from env / *_FILE / secrets_dir, never shown in reprs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alerts.model import Audience
from alerts.sinks.settings import (
    DingtalkSettings,
    FeishuSettings,
    SlackSettings,
    WebhookSettings,
    WecomSettings,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for k in list(os.environ):
        if k.startswith("ROOMPULSE_"):
            monkeypatch.delenv(k)


def test_defaults_keep_documented_endpoints_and_are_disabled():
    assert WecomSettings().base_url == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    assert DingtalkSettings().base_url == "https://oapi.dingtalk.com/robot/send"
    assert FeishuSettings().base_url == "https://open.feishu.cn/open-apis/bot/v2/hook"
    for cls in (WecomSettings, DingtalkSettings, FeishuSettings, SlackSettings, WebhookSettings):
        s = cls()
        assert not s.enabled and s.language == "zh-CN" and s.audience == (Audience.host,)


def test_env_prefixes_lists_and_frozen(monkeypatch):
    monkeypatch.setenv("ROOMPULSE_WECOM_KEY", "k-SECRET")
    monkeypatch.setenv("ROOMPULSE_WECOM_AUDIENCE", "host, ops")
    monkeypatch.setenv("ROOMPULSE_DINGTALK_AT_MOBILES", '["138", "139"]')
    monkeypatch.setenv("ROOMPULSE_FEISHU_BASE_URL",
                       "https://open.larksuite.com/open-apis/bot/v2/hook")
    monkeypatch.setenv("ROOMPULSE_SLACK_LANGUAGE", "en")
    w = WecomSettings()
    assert w.enabled and w.key.get_secret_value() == "k-SECRET"
    assert w.audience == (Audience.host, Audience.ops)
    assert DingtalkSettings().at_mobiles == ("138", "139")
    assert FeishuSettings().base_url.startswith("https://open.larksuite.com")
    assert SlackSettings().language == "en"
    assert "k-SECRET" not in repr(w) and "k-SECRET" not in str(w.model_dump())
    with pytest.raises(ValidationError):
        w.key = None


def test_secret_from_file_variable(monkeypatch, tmp_path):
    f = tmp_path / "token"
    f.write_text("file-SECRET\n")
    monkeypatch.setenv("ROOMPULSE_DINGTALK_ACCESS_TOKEN_FILE", str(f))
    monkeypatch.setenv("ROOMPULSE_DINGTALK_SECRET_FILE", str(f))
    s = DingtalkSettings()
    assert s.access_token.get_secret_value() == "file-SECRET" == s.secret.get_secret_value()
    monkeypatch.setenv("ROOMPULSE_DINGTALK_ACCESS_TOKEN", "env-wins")
    assert DingtalkSettings().access_token.get_secret_value() == "env-wins"


def test_secret_from_secrets_dir(monkeypatch, tmp_path):
    (tmp_path / "roompulse_feishu_token").write_text("dir-SECRET")
    monkeypatch.setenv("ROOMPULSE_SECRETS_DIR", str(tmp_path))
    assert FeishuSettings().token.get_secret_value() == "dir-SECRET"


def test_bad_values_are_rejected(monkeypatch):
    monkeypatch.setenv("ROOMPULSE_WECOM_LANGUAGE", "fr")
    with pytest.raises(ValidationError):
        WecomSettings()
    monkeypatch.delenv("ROOMPULSE_WECOM_LANGUAGE")
    monkeypatch.setenv("ROOMPULSE_WECOM_AUDIENCE", "viewers")
    with pytest.raises(ValidationError):
        WecomSettings()
