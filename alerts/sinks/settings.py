"""Chat-bot sink settings: a frozen class per platform; secrets from env, *_FILE or secrets_dir."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from alerts.model import Audience

SECRETS_DIR_ENV = "ROOMPULSE_SECRETS_DIR"


def _split(v: Any) -> Any:
    """Env lists may be written `a,b` or `["a","b"]`."""
    if isinstance(v, str):
        return tuple(p.strip() for p in v.strip("[]").replace('"', "").split(",") if p.strip())
    return v


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_split)]


class FileEnvSource(PydanticBaseSettingsSource):
    """`<PREFIX><FIELD>_FILE=/path` loads the field from that file (Docker/Kubernetes secrets)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        prefix = self.config.get("env_prefix", "")
        var = f"{prefix}{field_name}_FILE".upper()
        path = next((v for k, v in os.environ.items() if k.upper() == var), None)
        if not path:
            return None, field_name, False
        return Path(path).read_text(encoding="utf-8").strip(), field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                out[key] = value
        return out


class ChatSinkSettings(BaseSettings):
    """What every chat sink shares. A sink is enabled once its credential is set."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_file=None)

    language: Literal["zh-CN", "en"] = Field("zh-CN", description="language of the nudge text")
    audience: Annotated[tuple[Audience, ...], NoDecode, BeforeValidator(_split)] = Field(
        (Audience.host,), description="deliver only alerts for these audiences (comma list)"
    )
    send_resolved: bool = Field(False, description="also nudge when an alert resolves")
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout per request")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings, FileEnvSource(settings_cls)]
        secrets_dir = os.environ.get(SECRETS_DIR_ENV)
        if secrets_dir:
            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir))
        else:
            sources.append(file_secret_settings)
        return tuple(sources)

    @property
    def enabled(self) -> bool:
        raise NotImplementedError


class WecomSettings(ChatSinkSettings):
    """WeCom (企业微信) group robot: POST {base_url}?key=KEY."""

    model_config = SettingsConfigDict(env_prefix="ROOMPULSE_WECOM_")

    key: SecretStr | None = None
    base_url: str = Field("https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
                          description="override for tests or a proxy", repr=False)
    msgtype: Literal["markdown", "text"] = Field("markdown", description="text allows @-mentions")
    mentioned_mobiles: CommaList = Field(
        (), description="text msgtype only: phone numbers to @ (comma list, '@all' allowed)"
    )

    @property
    def enabled(self) -> bool:
        return self.key is not None


class DingtalkSettings(ChatSinkSettings):
    """DingTalk custom robot: POST {base_url}?access_token=TOKEN[&timestamp=&sign=]."""

    model_config = SettingsConfigDict(env_prefix="ROOMPULSE_DINGTALK_")

    access_token: SecretStr | None = None
    secret: SecretStr | None = Field(None, description="加签 secret (SEC...); unset = unsigned")
    base_url: str = Field("https://oapi.dingtalk.com/robot/send",
                          description="override for tests or a proxy", repr=False)
    at_mobiles: CommaList = Field((), description="phone numbers to @ (comma list)")
    at_all: bool = Field(False, description="@ everyone in the group")

    @property
    def enabled(self) -> bool:
        return self.access_token is not None


class FeishuSettings(ChatSinkSettings):
    """Feishu / Lark custom bot: POST {base_url}/{token}; Lark: https://open.larksuite.com/..."""

    model_config = SettingsConfigDict(env_prefix="ROOMPULSE_FEISHU_")

    token: SecretStr | None = Field(None, description="the last path segment of the webhook URL")
    secret: SecretStr | None = Field(None, description="签名校验 secret; unset = unsigned")
    base_url: str = Field("https://open.feishu.cn/open-apis/bot/v2/hook",
                          description="Lark: https://open.larksuite.com/open-apis/bot/v2/hook",
                          repr=False)
    msg_type: Literal["interactive", "text"] = Field("interactive",
                                                     description="card or plain text")

    @property
    def enabled(self) -> bool:
        return self.token is not None


class SlackSettings(ChatSinkSettings):
    """Slack incoming webhook: the whole URL is the credential (https://hooks.slack.com/...)."""

    model_config = SettingsConfigDict(env_prefix="ROOMPULSE_SLACK_")

    webhook_url: SecretStr | None = None

    @property
    def enabled(self) -> bool:
        return self.webhook_url is not None


class WebhookSettings(ChatSinkSettings):
    """Generic webhook: the Alert as JSON, HMAC-signed with `secret` (see docs/nudges.md)."""

    model_config = SettingsConfigDict(env_prefix="ROOMPULSE_WEBHOOK_")

    url: SecretStr | None = None
    secret: SecretStr | None = None
    send_resolved: bool = Field(True, description="also post resolved alerts (on by default here)")

    @property
    def enabled(self) -> bool:
        return self.url is not None
