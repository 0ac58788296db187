"""One prepared batch's atomic Redis apply: retried while Redis is away, classified otherwise.

The engine decides what an outcome means for its positions (re-seek, cut, rebuild); this step
only writes, pauses fetching while Redis is down (nothing piles up in memory behind an outage),
turns a non-retryable error into REFUSED (the batch cannot be written as it is, so it is
dead-lettered, never retried blindly) and logs each outcome once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from streams.ingest.prepare import Prepared
from streams.kpi.store_base import ApplyResult, Outcome
from streams.kpi.store_redis import RedisKpiStore
from streams.worker.engine_metrics import EngineMetrics
from streams.worker.metrics import WorkerMetrics
from streams.worker.records import RawRecordConsumer
from streams.worker.retry import Retrier, Retryable

log = logging.getLogger("streams.worker.engine")  # operators grep the engine's logger for these


class ApplyStep:
    def __init__(self, store: RedisKpiStore, group: str, metrics: WorkerMetrics,
                 more: EngineMetrics, retry_redis: Retrier,
                 consumer: Callable[[], RawRecordConsumer | None],
                 stopping: Callable[[], bool]) -> None:
        self.store, self.group, self.metrics, self.more = store, group, metrics, more
        self._retry, self._consumer, self._stopping = retry_redis, consumer, stopping

    async def apply(self, p: Prepared, starts: dict, now_ms: int) -> ApplyResult:
        paused = False
        consumer = self._consumer()

        async def attempt() -> ApplyResult:
            nonlocal paused
            t0 = time.perf_counter()
            try:
                result = await self.store.apply(p.delta, p.offsets, self.group, now_ms, starts)
            except Exception:
                if not paused and consumer is not None:
                    consumer.pause(*consumer.assignment())  # stop fetching
                    paused = True
                raise
            self.metrics.apply_seconds.observe(time.perf_counter() - t0)
            return result

        try:
            result = await self._retry(attempt)
        except Exception as exc:
            if isinstance(exc, Retryable) or self._stopping():
                raise
            # Not retryable (a script error, a bad reply): the batch cannot be written as is.
            log.error("apply refused by Redis (%s: %s); dead-lettering the batch's events",
                      type(exc).__name__, str(exc)[:200])
            return ApplyResult(Outcome.REFUSED, f"{type(exc).__name__}")
        finally:
            if paused and consumer is not None:
                consumer.resume(*consumer.assignment())
        _report(result, self.more)
        return result


def _report(result: ApplyResult, more: EngineMetrics) -> None:
    """One log line (and counter) per outcome that is not a plain success."""
    if result.outcome is Outcome.REFUSED:
        log.error("apply refused: %s; dead-lettering the batch's events", result.detail)
    elif result.outcome is Outcome.MOVED:
        log.warning("batch not applied: a stored offset is not where the batch starts "
                    "(another worker moved on, or a gap): %s; resuming from the stored "
                    "offsets", result.detail)
        more.moved.inc()
    elif result.outcome is Outcome.CUT:
        log.info("a batch cut short by a crash is re-read alone up to where it ended: %s",
                 ", ".join(f"{t}:{p}@{c}" for (t, p), c in sorted(result.cuts().items())))
    elif result.outcome is Outcome.LOST:
        log.error("Redis lost the KPI state (offset %s is gone: restart without "
                  "persistence, failover to an empty replica or FLUSHALL); rebuilding from "
                  "the earliest retained offsets", result.detail)
        more.state_lost.inc()
