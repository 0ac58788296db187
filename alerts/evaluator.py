"""One evaluation over every room: read KPIs (here or in a child), then step each series'
lifecycle (alerts.advance) and save the series."""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from alerts.advance import EvalResult, Transition, advance
from alerts.evalmetrics import EvalMetrics, TickStats
from alerts.lifecycle import Series
from alerts.logthrottle import LogThrottle, exc_kind
from alerts.model import fingerprint
from alerts.needscache import NeedsCache
from alerts.reader import BatchReader, KpiReader, ReadRequest, resolve
from alerts.remote import Readings, RemoteReads, RoomReads
from alerts.roomreading import readings_of
from alerts.rules import Rule, RulePack
from alerts.scope import Moment
from alerts.state import InMemorySeriesStore, SeriesStore
from alerts.targets import RoomTargets, Targets
from schemas.kpis import RoomState

log = logging.getLogger(__name__)

__all__ = ["EvalResult", "Evaluator", "Transition", "in_shard"]


class Evaluator:
    """Shared by the live worker and `roompulse backtest`: the same code over any KpiReader.

    Bounded: at most `concurrency` rooms are read at once (each read holds one Redis
    connection, so the pool is never exhausted), and rooms stop being started once a chunk
    started now would end past `budget_s`; the rooms left are skipped, counted, and come
    first in the next evaluation (round-robin), most recently active first. A skipped room's
    series keep their state.
    """

    def __init__(self, rules: RulePack | Callable[[], RulePack],
                 targets: Targets | Callable[[], Targets], store: SeriesStore | None = None, *,
                 max_gap_ms: int = 30_000, registry: CollectorRegistry | None = None,
                 concurrency: int = 4, budget_s: float | None = None,
                 batch: BatchReader | None = None, chunk: int = 16,
                 shard: tuple[int, int] = (0, 1)) -> None:
        self._rules = rules if callable(rules) else (lambda: rules)
        self._targets = targets if callable(targets) else (lambda: targets)
        self.store = store or InMemorySeriesStore()
        self.max_gap_ms = max_gap_ms
        self.concurrency = max(1, concurrency)
        self.budget_s = budget_s
        self.batch = batch
        self.chunk = max(1, chunk)
        # (i, n): only the rooms whose id hashes to i of n are read here (one of n child
        # processes sharing the reads, streams.alerting.shards); (0, 1) = every room
        self.shard = shard
        self.series: dict[str, Series] | None = None
        self.last_tick = TickStats()
        self._known: dict[str, Rule] = {}  # rules seen before, to word the end of removed ones
        self._evaluated_at: dict[str, int] = {}  # room -> evaluation number it was last read in
        self._n = 0
        self.metrics = EvalMetrics(registry) if registry is not None else None
        # A broken rule or Redis fails on every room every tick: one line a minute per kind.
        self._throttle = LogThrottle()
        self._needs = NeedsCache()  # the dry run's answers, shared by rooms and ticks
        self._chunk_s = 0.0  # wall time of one chunk's read, smoothed (budget: see _read)
        # Where the rooms are read: here, or a child process (streams.alerting.evalproc) that
        # runs this same class's read_rooms; the lifecycle always steps here.
        self.remote: RemoteReads | None = None
        self._tail_s = self._handoff_s = 0.0  # a remote tick's own overhead (see evaluate)

    async def evaluate(self, reader: KpiReader, now_ms: int | None = None) -> EvalResult:
        started = time.perf_counter()
        if self.series is None:
            self.series = await self.store.load()
        now = now_ms if now_ms is not None else await resolve(reader.stream_clock_ms())
        if now is None:
            return EvalResult(None, [], [])
        pack = self._rules()
        rules = {r.id: r for r in pack.rules if r.enabled}
        self._known.update(rules)
        reads = await self._reads(reader, pack, rules, now, started)
        self.last_tick = stats = reads.stats

        def untouched(s: Series) -> bool:
            return s.room_id in reads.untouched or (s.rule, s.room_id) in reads.failed_rules

        read_end = time.perf_counter()
        result = await self._advance(rules, reads.readings, now, untouched)
        stats.seconds = time.perf_counter() - started
        if self.remote is not None:
            # what a tick spends after a remote read (readings unpickled, lifecycle, state
            # save), smoothed: the next remote read gets the budget minus this, or the child
            # read to the budget's end and ticks overran (p99 1.6 s for a 0.8 s budget)
            tail = stats.seconds - (read_end - started) + self._handoff_s
            if self.budget_s is not None:  # a child's start (~1 s) is not a tick's tail
                tail = min(tail, 0.25 * self.budget_s)
            self._tail_s = tail if not self._tail_s else 0.8 * self._tail_s + 0.2 * tail
        if self.metrics is not None:
            self.metrics.errors.labels("room").inc(stats.room_errors)
            self.metrics.errors.labels("rule").inc(stats.rule_errors)
            self.metrics.observe(stats, self.series)
        return result

    async def _reads(self, reader: KpiReader, pack: RulePack, rules: dict[str, Rule], now: int,
                     started: float) -> RoomReads:
        if self.remote is not None:
            left = None if self.budget_s is None else \
                max(0.0, self.budget_s - (time.perf_counter() - started) - self._tail_s)
            try:
                sent = time.perf_counter()
                reads = await self.remote.read(pack, self._targets(), now, left)
                # the pipe both ways and the child's own start, beyond its read's budget
                self._handoff_s = max(0.0, time.perf_counter() - sent - reads.stats.seconds)
                return reads
            except Exception as exc:  # noqa: BLE001 - the child died or cannot start: read here
                self._throttle.log(log, logging.ERROR, ("remote-read", exc_kind(exc)),
                                   "room reads in the evaluation process failed (%s: %s); "
                                   "this tick reads them in the worker", exc_kind(exc), exc)
        return await self._read(reader, rules, now, started, self.budget_s)

    async def read_rooms(self, reader: KpiReader, now_ms: int,
                         budget_s: float | None = None) -> RoomReads:
        """The read half of `evaluate` alone: what a child process runs for its parent
        (streams.alerting.evalproc). Round-robin and caches persist between calls."""
        started = time.perf_counter()
        rules = {r.id: r for r in self._rules().rules if r.enabled}
        reads = await self._read(reader, rules, now_ms, started, budget_s)
        reads.stats.seconds = time.perf_counter() - started  # the parent's tick sets its own
        return reads

    async def _read(self, reader: KpiReader, rules: dict[str, Rule], now: int, started: float,
                    budget_s: float | None) -> RoomReads:
        """Readings of the rooms evaluated, and which series to leave untouched."""
        targets = self._targets()
        out: Readings = {}
        rule_list = list(rules.values())
        rule_ids = tuple(map(id, rule_list))
        untouched: set[str] = set()  # rooms skipped or unreadable: their series stay as they are
        failed_rules: set[tuple[str, str]] = set()
        stats = TickStats()
        self._n += 1
        by_id: dict[str, RoomState] = {}
        if self.batch is not None:
            # Ids only: states are read batch by batch, so a tick that reaches 800 of 20,000
            # rooms reads 800 states, not 20,000. The store lists them most recent first.
            ids = await self.batch.room_ids()
            if self.shard[1] > 1:
                ids = [r for r in ids if in_shard(r, *self.shard)]
            # Round-robin: rooms read longest ago first; among them, the most recently active
            # (the store's order: the sort is stable). A key in C, not a lambda: 20,000 rooms
            # sorted by (tick, rank) through a lambda held the event loop for tens of ms.
            at = self._evaluated_at
            for r in ids:
                at.setdefault(r, 0)
            todo = sorted(ids, key=at.__getitem__)
        else:
            live = [s for s in await resolve(reader.rooms())
                    if (s.broadcast_end_ms is None or s.broadcast_end_ms > now)
                    and in_shard(s.room_id, *self.shard)]
            live.sort(key=lambda s: (self._evaluated_at.get(s.room_id, 0),
                                     -(s.last_event_ms or 0), s.room_id))
            by_id = {s.room_id: s for s in live}
            todo = [s.room_id for s in live]
        stats.live = len(todo)
        deadline = None if budget_s is None else started + budget_s
        next_room = 0

        def on_error(rule: Rule, room_id: str, exc: BaseException) -> None:
            failed_rules.add((rule.id, room_id))
            stats.rule_errors += 1
            self._throttle.log(log, logging.ERROR, ("rule", rule.id, exc_kind(exc)),
                         "rule %s failed on room %s: %s: %s", rule.id, room_id,
                         exc_kind(exc), exc, exc_info=True)

        def room_failed(room_id: str, exc: BaseException) -> None:
            untouched.add(room_id)
            stats.failed += 1
            stats.room_errors += 1
            self._throttle.log(log, logging.ERROR, ("room-read", exc_kind(exc)),
                         "reading room %s failed: %s: %s", room_id, exc_kind(exc), exc)

        async def read_chunk(chunk: list[str]) -> None:
            token = None
            if self.batch is not None:
                try:
                    states, token = await self.batch.states(chunk)
                except Exception as exc:  # noqa: BLE001 - e.g. Redis down: keep series, go on
                    for room_id in chunk:
                        room_failed(room_id, exc)
                    return
            else:
                states = [by_id[r] for r in chunk]
            plans: dict[str, tuple[RoomState, RoomTargets, Moment]] = {}
            for room_id, state in zip(chunk, states, strict=True):
                if state is None or (state.broadcast_end_ms is not None
                                     and state.broadcast_end_ms <= now):
                    self._evaluated_at[room_id] = self._n  # gone or ended: nothing to read
                    stats.evaluated += 1
                    continue
                rt = targets.resolve(room_id, state.brand_id, state.stage, state.phase, now)
                plans[room_id] = (state, rt, targets.moment(rt.stage, rt.phase, now,
                                                            state.broadcast_start_ms))
            batched: dict[str, tuple[RoomState | None, dict[ReadRequest, Any]]] = {}
            if self.batch is not None and plans:
                needs = {r: await self._needs.needs(rule_list, rule_ids, *plans[r])
                         for r in plans}
                try:
                    got = await self.batch.read_many([(r, needs.get(r, {})) for r in chunk],
                                                     token)
                except Exception as exc:  # noqa: BLE001 - as above
                    for room_id in plans:
                        room_failed(room_id, exc)
                    return
                batched = {r: g for r, g in zip(chunk, got, strict=True)}
            for room_id, (state, rt, moment) in plans.items():
                results = batched[room_id][1] if room_id in batched else None
                try:
                    pairs, _ = await readings_of(rule_list, state, rt, moment, reader,
                                                 results, on_error)
                except Exception as exc:  # noqa: BLE001 - a failed plain read: as above
                    room_failed(room_id, exc)
                    continue
                self._evaluated_at[room_id] = self._n
                stats.evaluated += 1
                for rule, rd in pairs:
                    fp = fingerprint(rule.id, room_id, rd.labels)
                    out[fp] = (rule.id, room_id, rd, moment.minutes_since_start)

        chunk_size = self.chunk if self.batch is not None else 1

        async def worker() -> None:
            nonlocal next_room
            while next_room < len(todo):
                # Stop when a chunk started now would end past the budget: chunks run
                # `concurrency` at once on one core, so one takes about `concurrency` times
                # its own CPU, and a chunk started just before the deadline overran the tick
                # by that much (p99 1.6-2.0 s for a 0.8 s budget at 1,000 rooms). But always
                # read one batch, or a listing that alone outlasts the budget starves every room.
                if deadline is not None and next_room and \
                        time.perf_counter() + self._chunk_s >= deadline:
                    return
                chunk = todo[next_room:next_room + chunk_size]
                next_room += len(chunk)
                t0 = time.perf_counter()
                await read_chunk(chunk)
                took = time.perf_counter() - t0
                # a chunk's wall time, smoothed; a short one (the tail of the list) says little
                if len(chunk) == chunk_size:
                    self._chunk_s = took if not self._chunk_s else \
                        0.8 * self._chunk_s + 0.2 * took
                await asyncio.sleep(0)  # health checks and the API never wait behind a tick

        # Rooms are read `chunk` at a time (a batch reader shares its round trips between them)
        # and at most `concurrency` chunks at once: each holds one Redis connection, so the
        # shared pool is never exhausted, and latency overlaps with the other chunks' CPU.
        workers = min(self.concurrency, -(-len(todo) // chunk_size))
        await asyncio.gather(*(worker() for _ in range(workers)))
        untouched.update(todo[next_room:])
        stats.skipped = len(todo) - next_room
        live_ids = set(todo)
        for room in [r for r in self._evaluated_at if r not in live_ids]:
            del self._evaluated_at[room]  # bounded by the live rooms

        return RoomReads(out, untouched, failed_rules, stats)

    async def _advance(self, rules: dict[str, Rule], readings: Readings, now: int,
                       untouched: Callable[[Series], bool]) -> EvalResult:
        if self.series is None:
            raise RuntimeError("Evaluator._advance before the series were loaded (evaluate)")
        result, upserts, deletes = await advance(self.series, rules, self._known, readings,
                                                 now, untouched, self.max_gap_ms)
        await self.store.save(upserts, deletes)
        return result


def in_shard(room_id: str, i: int, n: int) -> bool:
    """Whether shard i of n reads `room_id` (a stable hash: the same in every process)."""
    return n <= 1 or zlib.crc32(room_id.encode("utf-8", "surrogatepass")) % n == i
