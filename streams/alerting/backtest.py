"""Replay a recording through the KPI formulas and the rules offline (no Kafka, no Redis)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from alerts.evaluator import Evaluator, Transition
from alerts.rules import RulePack
from alerts.targets import Targets
from schemas.decode import DeadLetter, decode
from schemas.events import MAX_TS_MS
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_memory import InMemoryKpiStore
from streams.simulator.recording import read_recording

GROUP = "backtest"


@dataclass
class BacktestResult:
    transitions: list[Transition] = field(default_factory=list)
    events: int = 0
    dead_letters: Counter = field(default_factory=Counter)
    evaluations: int = 0
    first_ms: int | None = None
    last_ms: int | None = None

    def fired(self) -> list[Transition]:
        return [t for t in self.transitions if t.state == "firing"]


async def backtest_values(values: Iterable[bytes], rules: RulePack, targets: Targets, *,
                          step_ms: int = 10_000, settings: KpiSettings | None = None
                          ) -> BacktestResult:
    """Fold events in stream-time steps of `step_ms` and evaluate at every step boundary.

    The same Evaluator the worker runs, over an InMemoryKpiStore instead of Redis.
    """
    settings = settings or KpiSettings()
    store = InMemoryKpiStore(settings)
    folder = BatchFolder(settings)
    evaluator = Evaluator(rules, targets, max_gap_ms=3 * step_ms)
    res = BacktestResult()
    next_eval: int | None = None
    line = 0
    pending = 0

    async def flush_and_eval(at: int) -> None:
        nonlocal pending
        if pending:
            await store.apply(folder.take(), {(GROUP, 0): line}, GROUP, at)
            pending = 0
        out = await evaluator.evaluate(store, now_ms=at)
        res.evaluations += 1
        res.transitions.extend(out.transitions)

    for value in values:
        line += 1
        ev = decode(value, now_ms=MAX_TS_MS)  # a recording is history: nothing is "future"
        if isinstance(ev, DeadLetter):
            res.dead_letters[ev.reason.value] += 1
            continue
        if next_eval is None:
            next_eval = (ev.ts // step_ms + 1) * step_ms
            res.first_ms = ev.ts
        while ev.ts >= next_eval:
            await flush_and_eval(next_eval)
            next_eval += step_ms
        folder.add(ev)
        pending += 1
        res.events += 1
        res.last_ms = max(res.last_ms or ev.ts, ev.ts)
    if next_eval is not None:
        await flush_and_eval(next_eval)
        await flush_and_eval(next_eval + step_ms)  # lets series of ended broadcasts resolve
    return res


async def backtest_file(path: str | Path, rules: RulePack | None = None,
                        targets: Targets | None = None, **kw) -> BacktestResult:
    values = (rec.value for rec in read_recording(path))
    return await backtest_values(values, rules or RulePack.load(), targets or Targets.load(), **kw)


async def recording_runner(path: Path, rules: RulePack, targets: Targets, step_ms: int
                           ) -> tuple[int, list[Transition]]:
    """For `roompulse rules test` cases that give an event recording instead of KPI series."""
    res = await backtest_file(path, rules, targets, step_ms=step_ms)
    return res.first_ms or 0, res.transitions
