"""Retry with capped exponential backoff, logging ONE line per state change (down / back up)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from streams.worker.errors import is_retryable

T = TypeVar("T")


class Outage:
    """Tracks whether a dependency is down, so a long outage logs two lines, not thousands."""

    def __init__(self, name: str, log: logging.Logger,
                 on_change: Callable[[bool], None] | None = None):
        self.name = name
        self.log = log
        self.down = False
        self._on_change = on_change

    def failed(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            self.log.warning("%s unavailable (%s: %s); pausing and retrying",
                             self.name, type(exc).__name__, str(exc)[:200])
            if self._on_change:
                self._on_change(False)

    def ok(self) -> None:
        if self.down:
            self.down = False
            self.log.warning("%s is back; resuming", self.name)
            if self._on_change:
                self._on_change(True)


async def retry(
    call: Callable[[], Awaitable[T]],
    outage: Outage,
    errors: tuple[type[BaseException], ...],
    *,
    cap_s: float = 5.0,
    first_s: float = 0.05,
    should_stop: Callable[[], bool] | None = None,
) -> T:
    """Await `call()` until it succeeds; every attempt is the whole operation again."""
    delay = first_s
    while True:
        try:
            result = await call()
        except errors as exc:
            outage.failed(exc)
            if should_stop is not None and should_stop():
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, cap_s)
            continue
        outage.ok()
        return result


# `retry(call)`: awaits `call()` until it succeeds, under the caller's outage handling.
Retrier = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class Retryable(Exception):
    """Wraps an error `is_retryable` says yes to, so `retry_classified` retries exactly those."""


async def retry_classified(call: Callable[[], Awaitable[T]], outage: Outage, *, cap_s: float,
                           should_stop: Callable[[], bool]) -> T:
    """`call()` until it succeeds, retrying only what `is_retryable` classifies as an outage.

    Anything else (a script error, a poison record) propagates at once: retrying it would send
    the same bytes to the same answer. A retryable error still pending when `should_stop()`
    says so surfaces as `Retryable`.
    """
    async def attempt() -> T:
        try:
            return await call()
        except Exception as exc:
            if is_retryable(exc):
                raise Retryable(f"{type(exc).__name__}: {exc}") from exc
            raise

    return await retry(attempt, outage, (Retryable,), cap_s=cap_s, should_stop=should_stop)
