"""The sink contract: deliver alerts somewhere, and say whether a failure is worth retrying."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from alerts.errors import AlertsError
from alerts.model import Alert


class SinkError(AlertsError):
    """Delivery failed. `retryable` tells the retry stage whether to try again."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@runtime_checkable
class Sink(Protocol):
    """Anything alerts can be delivered to (topic, Prometheus, console, chat bot)."""

    name: str

    async def send(self, alerts: Sequence[Alert]) -> str | None:
        """Deliver the alerts or raise SinkError. A sink that holds alerts instead of delivering
        them (the nudge throttle) returns the outcome to count, e.g. "queued"; None = sent."""
        ...
