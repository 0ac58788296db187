"""Base for webhook-style sinks: settings from the environment, audience filter, one message per
alert, classified failures. A platform sink says only what differs: its settings class, URL,
credentials, request and how to read the answer."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from pydantic import SecretStr

from alerts.clock import now_ms
from alerts.model import Alert, AlertState
from alerts.sinks.errors import DeliveryError
from alerts.sinks.http import HttpPoster, Response
from alerts.sinks.redact import Redactor
from alerts.sinks.settings import ChatSinkSettings
from alerts.sinks.text import HostText, host_text

log = logging.getLogger(__name__)

Request = tuple[str, bytes, Mapping[str, str]]


def reveal(*secrets: SecretStr | None) -> tuple[str, ...]:
    """The values of the credentials that are set (for `secrets()`)."""
    return tuple(s.get_secret_value() for s in secrets if s is not None)


def required(secret: SecretStr | None) -> str:
    """A credential `enabled` guarantees: ChatSink refuses settings without it."""
    if secret is None:
        raise ValueError("chat sink credential missing")
    return secret.get_secret_value()


class ChatSink(ABC):
    """A Sink posting one message per wanted alert. On failure raises DeliveryError whose
    `undelivered` holds the alert that failed and those after it (the earlier ones arrived).

    `settings` defaults to `settings_cls()` (read from ROOMPULSE_<PLATFORM>_*). Pass one `poster`
    to share a connection pool (then close it yourself); `clock_ms` (wall-clock epoch ms) is
    what signed requests are stamped with."""

    name = "chat"
    settings_cls: ClassVar[type[ChatSinkSettings]]

    def __init__(
        self,
        settings: ChatSinkSettings | None = None,
        *,
        poster: HttpPoster | None = None,
        clock_ms: Callable[[], int] = now_ms,
    ) -> None:
        settings = settings if settings is not None else self.settings_cls()
        if not isinstance(settings, self.settings_cls):
            raise TypeError(f"{self.name}: settings must be {self.settings_cls.__name__}, "
                            f"not {type(settings).__name__}")
        if not settings.enabled:
            raise ValueError(f"{self.name}: no webhook credential configured")
        self.settings = settings
        self._poster = poster if poster is not None else HttpPoster(timeout_s=settings.timeout_s)
        self._owns_poster = poster is None
        self._clock_ms = clock_ms

    def wants(self, alert: Alert) -> bool:
        if alert.state == AlertState.resolved and not self.settings.send_resolved:
            return False
        return bool(set(alert.audience) & set(self.settings.audience))

    def text(self, alert: Alert) -> HostText:
        return host_text(alert, self.settings.language)

    async def send(self, alerts: Sequence[Alert]) -> None:
        todo = [a for a in alerts if self.wants(a)]
        for i, alert in enumerate(todo):
            try:
                await self.deliver(alert)
            except DeliveryError as exc:
                exc.undelivered = tuple(todo[i:])
                raise

    async def deliver(self, alert: Alert) -> None:
        url, body, headers = self.request(alert)
        resp = await self._poster.post(
            url, body, headers=headers, secrets=self.secrets(), name=self.name
        )
        err = self.check(resp)
        if err is not None:
            log.warning("%s: alert %s not delivered: %s", self.name, alert.fingerprint, err)
            raise err

    @abstractmethod
    def request(self, alert: Alert) -> Request:
        """(url, body, extra headers) for one alert."""

    @abstractmethod
    def check(self, resp: Response) -> DeliveryError | None:
        """None when the platform accepted the message."""

    @abstractmethod
    def secrets(self) -> tuple[str, ...]:
        """The configured credentials (tokens, signing secrets). The poster adds every piece of
        the request URL itself (alerts.sinks.redact), so a sink need not list those."""

    @property
    @abstractmethod
    def url(self) -> str:
        """The webhook URL without per-request signature parameters."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={Redactor(self.url, self.secrets()).url!r})"

    async def aclose(self) -> None:
        if self._owns_poster:
            await self._poster.aclose()
