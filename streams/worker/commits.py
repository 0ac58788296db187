"""Advisory Kafka commits: for lag tools only, since Redis offsets decide where a worker resumes.

Batched to one commit per `interval_s` (a commit per batch would be a broker round trip per
apply), restricted to partitions still owned, and never allowed to stop or stall the loop.

Why a background task with a deadline: aiokafka's `commit()` first waits until the group
coordinator is known, and while the broker is unreachable that wait has no end. Awaited inside
an apply, one commit issued as the broker went away held the whole KPI loop: no fetches, so the
broker watch never reported the outage, and a broker that came back found a loop still parked
on the old commit. Now the loop only starts a commit; the commit gets `timeout_s`, and at most
one is in flight (offsets passed meanwhile wait for the next one, newer ones replace older).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiokafka import TopicPartition

from streams.worker.records import RawRecordConsumer

log = logging.getLogger("streams.worker.engine")
DEFAULT_TIMEOUT_S = 2.0  # a commit answered later than this is too late to matter to lag tools


class AdvisoryCommits:
    def __init__(self, interval_s: float, timeout_s: float = DEFAULT_TIMEOUT_S,
                 on_failure: Callable[[], None] = lambda: None) -> None:
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._on_failure = on_failure  # counted, logged at DEBUG only: it is advisory
        self._pending: dict[TopicPartition, int] = {}
        self._last = 0.0
        self._inflight: asyncio.Task | None = None

    def passed(self, topic: str, partition: int, next_offset: int) -> None:
        self._pending[TopicPartition(topic, partition)] = next_offset

    def forget(self, tp: TopicPartition) -> None:
        self._pending.pop(tp, None)

    @property
    def in_flight(self) -> bool:
        return self._inflight is not None and not self._inflight.done()

    async def commit(self, consumer: RawRecordConsumer | None, force: bool = False) -> None:
        """Start a commit of what passed (at most one in flight); returns at once. `force`
        (stop, revocation) also waits for it, `timeout_s` at most for each of the two."""
        if force:
            await self._settle()
        now = time.monotonic()
        if (not self._pending or self.in_flight
                or (not force and now - self._last < self.interval_s)):
            return
        self._last = now
        owned = consumer.assignment() if consumer is not None else set()
        pending = {tp: o for tp, o in self._pending.items() if tp in owned}
        self._pending.clear()
        if not pending or consumer is None:
            return
        self._inflight = asyncio.create_task(self._send(consumer, pending))
        if force:
            await self._settle()

    async def _send(self, consumer: RawRecordConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await asyncio.wait_for(consumer.commit(offsets), self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - a failed advisory commit must not stop the loop
            self._on_failure()
            log.debug("advisory Kafka commit failed: %s", type(exc).__name__)

    async def _settle(self) -> None:
        """Wait for the commit in flight (it ends within `timeout_s` by itself)."""
        task = self._inflight
        if task is not None and not task.done():
            await asyncio.wait([task])  # never raises: _send keeps its failures

    async def close(self) -> None:
        """Stop: whatever commit is still running is dropped."""
        task, self._inflight = self._inflight, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
