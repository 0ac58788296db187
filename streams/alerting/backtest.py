"""Replay a recording through the ingest path, the KPI store and the rules offline.

No Kafka, no Redis, and nothing of its own between the bytes and the KPIs: every message goes
through `streams.ingest.prepare` (decode, dedup, room/product limits, time policy, fold) with
the worker's settings, and each batch through the store's checked apply, over an
InMemoryKpiStore. `now` is the recording's own clock (streams.alerting.recclock), never a date
far ahead: a far-future event is `future_ts`, a duplicate is skipped, a bad message is
dead-lettered and counted, exactly as live.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alerts.evaluator import Evaluator, Transition
from alerts.rules import RulePack
from alerts.targets import Targets
from streams.alerting.recclock import RecordingClock
from streams.alerting.recordings import InputRecord, read_input, records_of
from streams.ingest.limits import LiveRooms
from streams.ingest.prepare import IngestState, Prepared, prepare
from streams.ingest.timepolicy import TimePolicy
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_base import Outcome
from streams.kpi.store_memory import InMemoryKpiStore
from streams.worker.config import WorkerSettings

GROUP = "backtest"
ANY_START = -1  # as the worker: a partition new to the store may start anywhere
MAX_BATCH = 10_000  # records per prepare/apply between evaluations (the worker's default)
# A gap in the recording is evaluated step by step up to this many steps (a stall is seen to
# fire and resolve); beyond it the timeline jumps to the far side, and the jump is counted.
MAX_CATCHUP_STEPS = 720


@dataclass
class BacktestResult:
    transitions: list[Transition] = field(default_factory=list)
    messages: int = 0  # lines read (blank lines aside)
    events: int = 0  # folded into the KPIs
    duplicates: int = 0
    late: int = 0  # behind the watermark beyond the grace, applied all the same
    dead_letters: Counter = field(default_factory=Counter)  # reason -> count
    evaluations: int = 0
    skipped_steps: int = 0  # evaluation steps jumped over in gaps longer than the catch-up
    clock_outliers: int = 0  # messages ahead of the recording's clock that did not move it
    first_ms: int | None = None
    last_ms: int | None = None
    store: InMemoryKpiStore | None = field(default=None, repr=False)

    def fired(self) -> list[Transition]:
        return [t for t in self.transitions if t.state == "firing"]


class OfflineIngest:
    """The worker's ingest state and checked apply, over an in-memory store."""

    def __init__(self, settings: KpiSettings, dedup_size: int,
                 store: InMemoryKpiStore | None = None) -> None:
        self.settings = settings
        self.store = store or InMemoryKpiStore(settings)
        self.rooms = LiveRooms(settings.max_live_rooms, settings.room_idle_s * 1000,
                               settings.max_products_per_room)
        self.state = IngestState(dedup_size, self.rooms)
        self.policy = TimePolicy.from_settings(settings)
        self._chain: dict[tuple[str, int], int] = {}

    async def feed(self, records: list[InputRecord], now_ms: int) -> Prepared:
        """Prepare and apply one batch (records in input order); raises if the apply is not
        APPLIED, which offline can only be a bug."""
        parts: dict[tuple[str, int], list[InputRecord]] = {}
        for r in records:
            parts.setdefault((r.topic, 0), []).append(r)
        items = list(parts.items())
        starts = {tp: self._chain.get(tp, ANY_START) for tp, _ in items}
        p = prepare(items, self.state, BatchFolder(self.settings, self.rooms.product),
                    self.policy, now_ms)
        result = await self.store.apply(p.delta, p.offsets, GROUP, now_ms, starts)
        if result.outcome is not Outcome.APPLIED:
            raise RuntimeError(f"backtest apply {result.outcome}: {result.detail}")
        self._chain.update(p.offsets)
        return p


async def backtest_records(records: Iterable[InputRecord], rules: RulePack, targets: Targets,
                           *, step_ms: int = 10_000, settings: KpiSettings | None = None,
                           dedup_size: int | None = None) -> BacktestResult:
    """Evaluate at every `step_ms` boundary of stream time, with the messages before it applied.

    The same Evaluator the worker runs; the timeline follows the recording's clock, so an
    outlier ahead of it neither moves it nor triggers evaluations.
    """
    if step_ms < 1:
        raise ValueError("the step must be at least 1 ms")
    settings = settings or KpiSettings()
    ingest = OfflineIngest(settings, dedup_size or WorkerSettings().dedup_size)
    clock = RecordingClock()
    evaluator = Evaluator(rules, targets, max_gap_ms=3 * step_ms)
    res = BacktestResult(store=ingest.store)
    pending: list[InputRecord] = []
    next_eval: int | None = None

    async def flush() -> None:
        if pending:
            res.messages += len(pending)
            _count(res, await ingest.feed(pending, clock.now or 0))
            pending.clear()

    async def evaluate(at: int) -> None:
        await asyncio.sleep(0)  # the in-memory store never suspends: stay cancellable
        out = await evaluator.evaluate(ingest.store, now_ms=at)
        res.evaluations += 1
        res.transitions.extend(out.transitions)

    for rec, credible in _decided(records, clock):
        if rec.reject is not None:  # a line that is no message at all
            res.messages += 1
            res.dead_letters[rec.reject] += 1
            continue
        t = rec.hint
        if credible and t is not None:
            if next_eval is None:
                next_eval = (t // step_ms + 1) * step_ms
                res.first_ms = t
            if t >= next_eval:
                await flush()
                steps = 0
                while t >= next_eval:
                    if steps == MAX_CATCHUP_STEPS:
                        jump = (t - next_eval) // step_ms
                        res.skipped_steps += jump
                        next_eval += jump * step_ms
                    await evaluate(next_eval)
                    next_eval += step_ms
                    steps += 1
        pending.append(rec)
        if len(pending) >= MAX_BATCH:
            await flush()
    await flush()
    res.clock_outliers = clock.outliers
    if next_eval is not None:
        await evaluate(next_eval)
        await evaluate(next_eval + step_ms)  # lets series of ended broadcasts resolve
    return res


def _decided(records: Iterable[InputRecord], clock: RecordingClock
             ) -> Iterator[tuple[InputRecord, bool]]:
    for rec in records:
        yield from clock.push(rec)
    yield from clock.finish()


def _count(res: BacktestResult, p: Prepared) -> None:
    for consumed, dead, dups in p.counts.values():
        res.events += consumed - dead - dups
        res.duplicates += dups
    for r in p.rejected:
        res.dead_letters[r.why.reason.value] += 1
    res.late += len(p.late_s)
    if p.delta.max_event_ms is not None:
        res.last_ms = max(res.last_ms or p.delta.max_event_ms, p.delta.max_event_ms)


async def backtest_values(values: Iterable[bytes], rules: RulePack, targets: Targets,
                          **kw) -> BacktestResult:
    """Backtest message values (or lines of any input format) already in memory."""
    return await backtest_records(records_of(values), rules, targets, **kw)


async def backtest_file(path: str | Path, rules: RulePack | None = None,
                        targets: Targets | None = None, **kw) -> BacktestResult:
    return await backtest_records(read_input(path), rules or RulePack.load(),
                                  targets or Targets.load(), **kw)


async def recording_runner(path: Path, rules: RulePack, targets: Targets, step_ms: int
                           ) -> tuple[int, list[Transition]]:
    """For `roompulse rules test` cases that give an event recording instead of KPI series."""
    res = await backtest_file(path, rules, targets, step_ms=step_ms)
    return res.first_ms or 0, res.transitions
