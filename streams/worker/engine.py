"""The KPI hot path: fetch a batch, decode it in one call, dedup, fold, apply to Redis atomically."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_redis import RedisKpiStore
from streams.settings import KafkaSettings
from streams.worker.batch import Prepared, prepare, rewarm
from streams.worker.broker_watch import BrokerWatch
from streams.worker.config import WorkerSettings
from streams.worker.deadletter import DeadLetterSink
from streams.worker.dedup import PartitionMemory
from streams.worker.metrics import WorkerMetrics
from streams.worker.process import tune_process
from streams.worker.records import RawRecordConsumer
from streams.worker.retry import Outage, retry

log = logging.getLogger(__name__)
REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)
ANY_START = -1  # a partition new to Redis may start at any offset (the log start may be > 0)


class _Listener(ConsumerRebalanceListener):
    def __init__(self, engine: KpiEngine) -> None:
        self.engine = engine

    async def on_partitions_revoked(self, revoked) -> None:
        await self.engine._revoked(revoked)

    async def on_partitions_assigned(self, assigned) -> None:
        await self.engine._assigned(assigned)


class KpiEngine:
    """One consumer-group member of the batched KPI loop.

    Redis holds the KPIs AND the next offset of every partition, written in one atomic apply,
    so Redis - not Kafka's committed offsets - decides where a partition resumes. While batch N
    is being applied, batch N+1 is decoded and folded; applies themselves stay strictly ordered.
    """

    def __init__(self, kafka: KafkaSettings, inputs: list[str], deadletter_topic: str,
                 worker: WorkerSettings, kpi: KpiSettings, store: RedisKpiStore,
                 metrics: WorkerMetrics) -> None:
        self.kafka, self.inputs, self.worker, self.kpi = kafka, inputs, worker, kpi
        self.store, self.metrics = store, metrics
        self.group = worker.group_id
        self.sink = DeadLetterSink(kafka, deadletter_topic, client_id=f"{self.group}-dlq")
        self.memory = PartitionMemory(worker.dedup_size)
        self.grace_ms = kpi.grace_s * 1000
        self.redis = Outage("Redis", log, lambda up: metrics.redis_up.set(1 if up else 0))
        self.broker = Outage("Kafka broker", log, lambda up: metrics.kafka_up.set(1 if up else 0))
        # getmany() raises nothing while the broker is gone (aiokafka retries inside).
        self.broker_watch = BrokerWatch(self.broker, stale_s=worker.broker_silent_s)
        self.consumer: RawRecordConsumer | None = None
        self.assigned_once = asyncio.Event()
        self._lock = asyncio.Lock()
        self._generation = 0
        self._warm_until: dict[tuple[str, int], int] = {}
        # Next offset each owned partition must deliver; anything else is stale or a gap.
        self._expected: dict[tuple[str, int], int] = {}
        self._inflight: asyncio.Task | None = None
        self._cpu = ThreadPoolExecutor(1, thread_name_prefix="kpi-prepare")
        self._stopping = False
        self._last_commit = 0.0
        self._pending_commit: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        tune_process(self.worker.mmap_threshold_kib)
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
            await self._drain()
            if self.consumer is not None:
                await self._commit(force=True)
                await self.consumer.stop()
            await self.sink.stop()
        self._cpu.shutdown(wait=False)

    async def run(self) -> None:
        """Fetch and process batches until stopped; survives broker and Redis outages."""
        assert self.consumer is not None
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
            async with self._lock:
                if not batch:
                    await self._drain()  # idle: let the last apply land now
                elif not self._stopping:
                    await self.process(batch)

    async def process(self, batch: dict[TopicPartition, list]) -> None:
        """Prepare `batch` (CPU), then hand it to the apply pipeline behind the previous one."""
        started = time.perf_counter()
        now_ms = int(time.time() * 1000)
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
        # In a thread, so the loop ships the previous apply and takes in the next fetch while
        # this batch's CPU work runs (the GIL changes hands at least every 5 ms).
        prepared = await asyncio.get_running_loop().run_in_executor(
            self._cpu, prepare, parts, self.memory, BatchFolder(self.kpi), self.grace_ms, now_ms)
        generation = self._generation
        await self._drain()
        if generation != self._generation:
            return  # the previous apply found a stale writer and re-seeked everything
        self._inflight = asyncio.create_task(self._finish(prepared, now_ms, started))
        await asyncio.sleep(0)  # let the apply go out before the next batch's CPU work

    async def _drain(self) -> None:
        task, self._inflight = self._inflight, None
        if task is not None:
            await task

    async def _finish(self, p: Prepared, now_ms: int, started: float) -> None:
        # Dead letters first: a crash before the apply re-sends them (at-least-once), never loses.
        if p.rejected:  # an empty send would report the broker "back" during an outage
            await retry(lambda: self.sink.send(p.rejected), self.broker, (KafkaError,),
                        cap_s=self.worker.retry_cap_s)
        if await self._apply(p, now_ms):
            self._account(p, started, now_ms)
            for (topic, partition), nxt in p.offsets.items():
                self._pending_commit[TopicPartition(topic, partition)] = nxt
            await self._commit()

    async def _apply(self, p: Prepared, now_ms: int) -> bool:
        paused = False

        async def attempt() -> bool:
            nonlocal paused
            t0 = time.perf_counter()
            try:
                applied = await self.store.apply(p.delta, p.offsets, self.group, now_ms)
            except REDIS_ERRORS:
                if not paused and self.consumer is not None:
                    self.consumer.pause(*self.consumer.assignment())  # stop fetching
                    paused = True
                raise
            self.metrics.apply_seconds.observe(time.perf_counter() - t0)
            return applied

        try:
            applied = await retry(attempt, self.redis, REDIS_ERRORS,
                                  cap_s=self.worker.retry_cap_s)
        finally:
            if paused and self.consumer is not None:
                self.consumer.resume(*self.consumer.assignment())
        if applied or p.delta.event_count == 0:
            return True
        # Not written: either an earlier attempt of this very batch landed (a reply lost to a
        # timeout) or another member already moved a partition past it (a stale writer).
        stored = await self._load_offsets()
        if all(stored.get(k) == v for k, v in p.offsets.items()):
            return True
        log.warning("batch not applied: Redis offsets are ahead of it (another worker moved "
                    "these partitions on); resuming from the stored offsets (given %s, "
                    "stored %s)", p.offsets, {k: stored.get(k) for k in p.offsets})
        if self.consumer is not None:
            await self._reseek(self.consumer.assignment())
        return False

    def _account(self, p: Prepared, started: float, now_ms: int) -> None:
        m = self.metrics
        for (topic, partition), (consumed, dead, dups) in p.counts.items():
            m.count_partition(topic, partition, consumed, consumed - dead, dead, dups)
            high = self.consumer.highwater(TopicPartition(topic, partition)) \
                if self.consumer is not None else None
            if high is not None:
                m.lag.labels(topic, str(partition)).set(max(0, high - p.offsets[(topic,
                                                                                 partition)]))
        for r in p.rejected:
            m.dead_letters.labels(r.why.reason.value).inc()
        for etype, n in p.types.items():
            m.events.labels(etype).inc(n)
        m.batch_size.observe(p.size)
        if p.delta.max_event_ms:
            m.event_time_lag.set(max(0.0, (now_ms - p.delta.max_event_ms) / 1000))
        m.last_apply = time.time()
        m.batch_seconds.observe(time.perf_counter() - started)

    def _in_sequence(self, tp: TopicPartition, key: tuple[str, int], records: list) -> list:
        """Only records continuing exactly where this partition left off are processed."""
        expected = self._expected.get(key)
        if expected is None:
            return []  # not ours (revoked, or a batch fetched during a rebalance)
        if records[0].offset < expected:
            records = [r for r in records if r.offset >= expected]
            if not records:
                return []
        if records[0].offset > expected and expected != ANY_START:
            log.warning("offset gap on %s: expected %d, got %d; seeking back", key, expected,
                        records[0].offset)
            if self.consumer is not None and tp in self.consumer.assignment():
                self.consumer.seek(tp, expected)
            return []
        self._expected[key] = records[-1].offset + 1
        return records

    def _skip_rewarm(self, key: tuple[str, int], records: list, now_ms: int) -> list:
        """Records before the Redis offset only rebuild dedup memory and the watermark."""
        until = self._warm_until.get(key)
        if until is None:
            return records
        old = [r for r in records if r.offset < until]
        if old:
            rewarm(self.memory, key, old, self.grace_ms, now_ms)
            self.metrics.rewarmed.inc(len(old))
        if records[-1].offset >= until - 1:
            del self._warm_until[key]
        return records[len(old):]

    async def _load_offsets(self) -> dict[tuple[str, int], int]:
        return await retry(lambda: self.store.load_offsets(self.group), self.redis,
                           REDIS_ERRORS, cap_s=self.worker.retry_cap_s)

    async def _assigned(self, assigned) -> None:
        async with self._lock:  # no apply may straddle an assignment
            await self._drain()
            await self._reseek(assigned)

    async def _reseek(self, assigned) -> None:
        """Seek every assigned partition to its Redis offset, minus a dedup warm-up window."""
        self._generation += 1
        stored = await self._load_offsets()
        for tp in assigned:
            key = (tp.topic, tp.partition)
            self.memory.forget(key)
            self._warm_until.pop(key, None)
            nxt = stored.get(key)
            if nxt:
                start = max(0, nxt - self.worker.dedup_size)
                self.consumer.seek(tp, start)
                self._expected[key] = start
                if start < nxt:
                    self._warm_until[key] = nxt
            else:
                # Not seek_to_beginning(): it resets lazily and can rewind a partition whose
                # first records were already fetched. Offset 0 below the log start is reset to
                # the earliest offset by auto_offset_reset="earliest".
                self.consumer.seek(tp, 0)
                self._expected[key] = ANY_START
        log.info("assigned %d partitions (%d resumed from Redis offsets)",
                 len(assigned), sum(1 for tp in assigned if stored.get((tp.topic, tp.partition))))
        self.assigned_once.set()

    async def _revoked(self, revoked) -> None:
        async with self._lock:  # finish the in-flight batch first
            await self._drain()
            await self._commit(force=True)
            for tp in revoked:
                self._expected.pop((tp.topic, tp.partition), None)
                self.memory.forget((tp.topic, tp.partition))
                self._pending_commit.pop(tp, None)
                self.metrics.forget_partition(tp.topic, tp.partition)

    async def _commit(self, force: bool = False) -> None:
        """Best-effort Kafka commit, for lag tools only; Redis offsets are the truth."""
        now = time.monotonic()
        if not self._pending_commit or (not force and now - self._last_commit
                                        < self.worker.commit_interval_s):
            return
        self._last_commit = now
        owned = self.consumer.assignment() if self.consumer is not None else set()
        pending = {tp: o for tp, o in self._pending_commit.items() if tp in owned}
        self._pending_commit.clear()
        if not pending:
            return
        try:
            await self.consumer.commit(pending)
        except Exception as exc:  # noqa: BLE001 - a failed advisory commit must not stop the loop
            log.debug("advisory Kafka commit failed: %s", exc)
