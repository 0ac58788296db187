"""DeliveryError: the one error every sink raises when alerts did not arrive.

It carries what a retry needs (alerts.sinks.retry): whether trying again can help, the delay the
server asked for, and which alerts are still undelivered after a partial batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alerts.errors import AlertsError


class DeliveryError(AlertsError):
    """Delivery failed. `retryable` says whether the same request may succeed later (timeouts,
    429, 5xx, a platform's busy code) or never will (bad credentials, a rejected body).

    `retry_after` is the server's requested delay in seconds (Retry-After), `status` and `code`
    the HTTP status and platform error code when there was an answer, and `undelivered` the
    alerts not delivered yet (empty = the whole batch)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
        code: int | str | None = None,
        undelivered: Sequence[Any] = (),
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.code = code
        self.undelivered = tuple(undelivered)


__all__ = ["DeliveryError"]
