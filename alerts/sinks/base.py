"""The sink contract: deliver alerts somewhere, or raise the one DeliveryError saying why not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from alerts.model import Alert


@runtime_checkable
class Sink(Protocol):
    """Anything alerts can be delivered to (topic, Prometheus, console, chat bot)."""

    name: str

    async def send(self, alerts: Sequence[Alert]) -> str | None:
        """Deliver the alerts or raise alerts.sinks.errors.DeliveryError (retryable or not). A
        sink that holds alerts instead of delivering them (the nudge throttle) returns the
        outcome to count, e.g. "queued"; None = sent."""
        ...
