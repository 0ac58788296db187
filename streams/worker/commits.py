"""Advisory Kafka commits: for lag tools only, since Redis offsets decide where a worker resumes.

Batched to one commit per `interval_s` (a commit per batch would be a broker round trip per
apply), restricted to partitions still owned, and never allowed to stop the loop.
"""

from __future__ import annotations

import logging
import time

from aiokafka import TopicPartition

from streams.worker.records import RawRecordConsumer

log = logging.getLogger("streams.worker.engine")


class AdvisoryCommits:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._pending: dict[TopicPartition, int] = {}
        self._last = 0.0

    def passed(self, topic: str, partition: int, next_offset: int) -> None:
        self._pending[TopicPartition(topic, partition)] = next_offset

    def forget(self, tp: TopicPartition) -> None:
        self._pending.pop(tp, None)

    async def commit(self, consumer: RawRecordConsumer | None, force: bool = False) -> None:
        now = time.monotonic()
        if not self._pending or (not force and now - self._last < self.interval_s):
            return
        self._last = now
        owned = consumer.assignment() if consumer is not None else set()
        pending = {tp: o for tp, o in self._pending.items() if tp in owned}
        self._pending.clear()
        if not pending or consumer is None:
            return
        try:
            await consumer.commit(pending)
        except Exception as exc:  # noqa: BLE001 - a failed advisory commit must not stop the loop
            log.debug("advisory Kafka commit failed: %s", exc)
