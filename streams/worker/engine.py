"""The KPI hot path: fetch a batch, run the ingest path on it, apply it to Redis atomically."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from redis.exceptions import RedisClusterException, RedisError

from streams.ingest.limits import LiveRooms
from streams.ingest.prepare import IngestState, Prepared, prepare, rewarm
from streams.ingest.timepolicy import TimePolicy
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_base import Outcome
from streams.kpi.store_redis import RedisKpiStore
from streams.settings import KafkaSettings
from streams.worker import linger
from streams.worker.accounting import Accounting, quarantine, written_off
from streams.worker.apply_step import ApplyStep
from streams.worker.audience_step import AudienceMetrics, AudienceStep
from streams.worker.broker_watch import BrokerWatch
from streams.worker.commits import AdvisoryCommits
from streams.worker.config import WorkerSettings
from streams.worker.deadletter import DeadLetterSink
from streams.worker.engine_metrics import EngineMetrics
from streams.worker.metrics import WorkerMetrics
from streams.worker.positions import ANY_START, Positions
from streams.worker.process import tune_process
from streams.worker.records import RawRecordConsumer
from streams.worker.retry import Outage, retry_classified

log = logging.getLogger(__name__)
REDIS_ERRORS = (RedisError, RedisClusterException, OSError, asyncio.TimeoutError)
__all__ = ["ANY_START", "REDIS_ERRORS", "KpiEngine"]


class _Listener(ConsumerRebalanceListener):
    def __init__(self, engine: KpiEngine) -> None:
        self.engine = engine

    async def on_partitions_revoked(self, revoked) -> None:
        await self.engine._revoked(revoked)

    async def on_partitions_assigned(self, assigned) -> None:
        await self.engine._assigned(assigned)


class KpiEngine:
    """One consumer-group member of the batched KPI loop (every input topic, control included).

    Redis holds the KPIs AND the next offset of every partition, written in one atomic apply
    that checks the batch starts where the stored offset is, so Redis - not Kafka's committed
    offsets - decides where a partition resumes, a retried apply is a no-op, and a Redis that
    lost its state is noticed and rebuilt from the log. While batch N is being applied, batch
    N+1 is decoded and folded; applies themselves stay strictly ordered.
    """

    def __init__(self, kafka: KafkaSettings, inputs: list[str], deadletter_topic: str,
                 worker: WorkerSettings, kpi: KpiSettings, store: RedisKpiStore,
                 metrics: WorkerMetrics) -> None:
        self.kafka, self.inputs, self.worker, self.kpi = kafka, inputs, worker, kpi
        self.store, self.metrics = store, metrics
        self.more = EngineMetrics(metrics.registry)
        self.group = worker.group_id
        self.sink = DeadLetterSink(kafka, deadletter_topic, client_id=f"{self.group}-dlq",
                                   max_bytes=worker.deadletter_max_bytes,
                                   registry=metrics.registry)
        self.rooms = LiveRooms(kpi.max_live_rooms, kpi.room_idle_s * 1000,
                               kpi.max_products_per_room)
        self.state = IngestState(worker.dedup_size, self.rooms)
        self.policy = TimePolicy.from_settings(kpi)
        self.redis = Outage("Redis", log, lambda up: metrics.redis_up.set(1 if up else 0))
        self.broker = Outage("Kafka broker", log, lambda up: metrics.kafka_up.set(1 if up else 0))
        # getmany() raises nothing while the broker is gone (aiokafka retries inside).
        self.broker_watch = BrokerWatch(self.broker, stale_s=worker.broker_silent_s)
        self.consumer: RawRecordConsumer | None = None
        self.assigned_once = asyncio.Event()
        self._lock = asyncio.Lock()
        self._generation = 0
        self.positions = Positions()
        self.accounting = Accounting(metrics, self.more, self.rooms)
        self._inflight: asyncio.Task | None = None
        self._cpu = ThreadPoolExecutor(1, thread_name_prefix="kpi-prepare")
        self._stopping = False
        self.commits = AdvisoryCommits(worker.commit_interval_s,
                                       on_failure=self.more.commits_failed.inc)
        self.applier = ApplyStep(store, self.group, metrics, self.more,
                                 self._retry_redis,
                                 lambda: self.consumer, lambda: self._stopping)
        # Registered either way: the worker exports the same series whatever its settings.
        audience_metrics = AudienceMetrics(metrics.registry)
        self.audience = AudienceStep(kpi, store, audience_metrics) if kpi.audience else None

    async def start(self) -> None:
        tune_process(self.worker.mmap_threshold_kib, self.worker.switch_interval_ms)
        await self.sink.start()
        self.consumer = RawRecordConsumer(
            **self.kafka.client_kwargs(), **self.kafka.group_kwargs(),
            group_id=self.group, client_id=f"{self.group}-kpi",
            enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=self.worker.fetch_max_wait_ms,
            fetch_max_bytes=self.worker.fetch_max_bytes,
            max_partition_fetch_bytes=self.worker.max_partition_fetch_bytes,
        )
        self.consumer.subscribe(self.inputs, listener=_Listener(self))
        await self.consumer.start()

    async def stop(self) -> None:
        self._stopping = True
        async with self._lock:
            try:
                await self._drain()
            except Exception as exc:  # noqa: BLE001 - stopping: Redis offsets make it safe
                log.info("in-flight batch abandoned at stop (%s); it is re-read on restart",
                         type(exc).__name__)
            if self.consumer is not None:
                if not self.broker.down:  # no coordinator to answer: not worth the wait
                    await self.commits.commit(self.consumer, force=True)
                await self.commits.close()
                await self.consumer.stop()
            await self.sink.stop()
        self._cpu.shutdown(wait=False)

    async def run(self) -> None:
        """Fetch and process batches until stopped; survives broker and Redis outages."""
        if self.consumer is None:
            raise RuntimeError("KpiEngine.run() before start()")
        while not self._stopping:
            try:
                batch = await self.consumer.getmany(
                    timeout_ms=self.worker.fetch_timeout_ms,
                    max_records=self.worker.batch_max_records,
                )
            except KafkaError as exc:
                self.broker.failed(exc)
                await asyncio.sleep(0.5)
                continue
            self.broker_watch.fetched(self.consumer, batch)
            if not batch:
                async with self._lock:
                    await self._drain()  # idle: let the last apply land now
                continue
            for part in await linger.fill(
                    batch, self._fetch_more, min_records=self.worker.batch_min_records,
                    max_records=self.worker.batch_max_records,
                    linger_ms=self.worker.batch_linger_ms, stopping=lambda: self._stopping):
                async with self._lock:
                    if not self._stopping:
                        await self.process(part)

    async def _fetch_more(self, timeout_ms: int, max_records: int) -> dict:
        """One more getmany() while a small batch lingers (streams.worker.linger); a broker
        error ends the lingering, the outer loop reports it."""
        if self.consumer is None:
            return {}
        try:
            more = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        except KafkaError:
            return {}
        self.broker_watch.fetched(self.consumer, more)
        return more

    async def process(self, batch: dict[TopicPartition, list]) -> None:
        """Prepare `batch` (CPU), then hand it to the apply pipeline behind the previous one."""
        started = time.perf_counter()
        now_ms = int(time.time() * 1000)
        batch, seek = self.positions.cut(batch)
        for tp, offset in seek.items():
            if self.consumer is not None and tp in self.consumer.assignment():
                self.consumer.seek(tp, offset)
        parts = []
        for tp, records in batch.items():
            key = (tp.topic, tp.partition)
            records = self._in_sequence(tp, key, records)
            if records:
                records = self._skip_rewarm(key, records, now_ms)
            if records:
                parts.append((key, records))
        if not parts:
            return
        starts = self.positions.starts([key for key, _ in parts])
        generation = self._generation
        # In a thread, so the loop ships the previous apply and takes in the next fetch while
        # this batch's CPU work runs (the GIL changes hands at least every 5 ms).
        try:
            prepared = await asyncio.get_running_loop().run_in_executor(
                self._cpu, prepare, parts, self.state,
                BatchFolder(self.kpi, self.rooms.product), self.policy, now_ms)
        except Exception as exc:  # prepare isolates messages; this is a last net
            log.exception("preparing a batch failed; dead-lettering its %d messages",
                          sum(len(r) for _, r in parts))
            prepared = quarantine(parts, exc)
        for key, _ in parts:
            self.positions.chain[key] = prepared.offsets[key]
        if self.audience is not None:  # a failure costs the batch its attribution, not more
            await self.audience.attribute(
                prepared.delta, self._retry_redis,
                current=lambda: generation == self._generation, stopping=lambda: self._stopping)
        await self._drain()
        if generation != self._generation:
            # the previous apply found a moved or lost offset and re-seeked everything: this
            # batch is read again, so what the audience step took from it is forgotten
            if self.audience is not None:
                self.audience.clear()
            return
        self._inflight = asyncio.create_task(self._finish(prepared, starts, now_ms, started))
        await asyncio.sleep(0)  # let the apply go out before the next batch's CPU work

    async def _drain(self) -> None:
        task, self._inflight = self._inflight, None
        if task is not None:
            await task

    async def _finish(self, p: Prepared, starts: dict, now_ms: int, started: float) -> None:
        # Dead letters first: a crash before the apply re-sends them (at-least-once), never loses.
        # `send` raises only retryable errors (it re-encodes or drops what can never be sent).
        if p.rejected:  # an empty send would report the broker "back" during an outage
            await self._retry(lambda: self.sink.send(p.rejected), self.broker)
        outcome = await self._apply(p, starts, now_ms)
        refused = outcome is Outcome.REFUSED
        if refused:
            p, extra = written_off(p)
            await self._retry(lambda: self.sink.send(extra), self.broker)
            self.more.refused.inc()
            outcome = await self._apply(p, starts, now_ms)
        if outcome in (Outcome.APPLIED, Outcome.REPLAY):
            self.accounting.batch(p, self._highwater, started, now_ms)
            for (topic, partition), nxt in p.offsets.items():
                self.commits.passed(topic, partition, nxt)
                self.positions.passed((topic, partition), nxt)
            await self.commits.commit(self.consumer)
            if refused and self.audience is not None:
                # The refused batch's attribution was never written, and the next batch was
                # attributed on top of it: that one is read again from the stored offsets.
                await self._reseek_all()

    async def _retry(self, call, outage: Outage):
        """`call()` until it succeeds, retrying only retryable errors; gives up when stopping."""
        return await retry_classified(call, outage, cap_s=self.worker.retry_cap_s,
                                      should_stop=lambda: self._stopping)

    async def _retry_redis(self, call):
        return await self._retry(call, self.redis)

    async def _apply(self, p: Prepared, starts: dict, now_ms: int) -> Outcome:
        """Apply (streams.worker.apply_step), then move positions as the outcome says."""
        result = await self.applier.apply(p, starts, now_ms)
        if result.outcome is Outcome.CUT:
            self.positions.cuts.update(result.cuts())
        if result.outcome in (Outcome.MOVED, Outcome.CUT, Outcome.LOST):
            await self._reseek_all()
        return result.outcome

    def _highwater(self, topic: str, partition: int) -> int | None:
        if self.consumer is None:
            return None
        return self.consumer.highwater(TopicPartition(topic, partition))

    def _in_sequence(self, tp: TopicPartition, key: tuple[str, int], records: list) -> list:
        """Only records continuing exactly where this partition left off are processed."""
        records, seek_to = self.positions.in_sequence(key, records)
        if seek_to is not None and self.consumer is not None and tp in self.consumer.assignment():
            self.consumer.seek(tp, seek_to)
        return records

    def _skip_rewarm(self, key: tuple[str, int], records: list, now_ms: int) -> list:
        """Records before the Redis offset only rebuild dedup memory and the watermark."""
        old, records = self.positions.split_rewarm(key, records)
        if old:
            rewarm(self.state, key, old, self.policy, now_ms)
            self.metrics.rewarmed.inc(len(old))
        return records

    async def _load_offsets(self) -> dict[tuple[str, int], int]:
        return await self._retry_redis(lambda: self.store.load_offsets(self.group))

    async def _assigned(self, assigned) -> None:
        async with self._lock:  # no apply may straddle an assignment
            await self._drain()
            await self._reseek(assigned)

    async def _reseek_all(self) -> None:
        if self.consumer is not None:
            await self._reseek(self.consumer.assignment())

    async def _reseek(self, assigned) -> None:
        """Seek every assigned partition to its Redis offset, minus a dedup warm-up window."""
        self._generation += 1
        if self.audience is not None:
            self.audience.clear()
        stored = await self._load_offsets()
        if self.consumer is None:  # assignments only happen to a started consumer
            return
        earliest = await self.consumer.log_starts(
            [tp for tp in assigned if not stored.get((tp.topic, tp.partition))])
        for tp in assigned:
            key = (tp.topic, tp.partition)
            self.state.forget(key)
            self.consumer.seek(tp, self.positions.resume(
                key, stored.get(key), earliest.get(tp), self.worker.dedup_size))
        log.info("assigned %d partitions (%d resumed from Redis offsets)",
                 len(assigned), sum(1 for tp in assigned if stored.get((tp.topic, tp.partition))))
        self.assigned_once.set()

    async def _revoked(self, revoked) -> None:
        async with self._lock:  # finish the in-flight batch first
            try:
                await self._drain()
            except Exception as exc:  # noqa: BLE001 - the new owner resumes from Redis
                log.info("in-flight batch abandoned at revocation (%s)", type(exc).__name__)
            await self.commits.commit(self.consumer, force=True)
            if self.audience is not None:
                self.audience.clear()  # the rooms of the revoked partitions move elsewhere
            for tp in revoked:
                key = (tp.topic, tp.partition)
                self.positions.forget(key)
                self.state.forget(key)
                self.accounting.backlog.pop(key, None)
                self.commits.forget(tp)
                self.metrics.forget_partition(tp.topic, tp.partition)
