"""DeliveryError: a SinkError carrying a server-requested delay and the alerts not yet delivered."""

from __future__ import annotations

from alerts.sinks.base import SinkError


class DeliveryError(SinkError):
    """A SinkError with what a retry needs: the server-requested delay and undelivered alerts."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
        code: int | str | None = None,
        undelivered: tuple = (),
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.retry_after = retry_after
        self.status = status
        self.code = code
        self.undelivered = undelivered


__all__ = ["DeliveryError", "SinkError"]
