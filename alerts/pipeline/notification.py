"""What flows between pipeline stages: one alert addressed to one receiver."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from alerts.model import Alert


@dataclass(frozen=True, slots=True)
class Notification:
    receiver: str
    alert: Alert
    group: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Identity in the notification log: receiver + alert series."""
        return f"{self.receiver}:{self.alert.fingerprint}"


class Stage(Protocol):
    """One pipeline step: takes notifications, returns the ones that go on."""

    async def process(self, items: Sequence[Notification], now_ms: int) -> list[Notification]: ...
