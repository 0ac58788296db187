"""One evaluation over every room: read KPIs, step each series' lifecycle, emit alerts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge, Histogram

from alerts.conditions import Reading, SnapshotCache, read_rule
from alerts.lifecycle import Cond, Series, State, step
from alerts.messages import texts
from alerts.model import Alert, AlertState, Evidence, fingerprint
from alerts.reader import KpiReader, resolve
from alerts.rules import Rule, RulePack
from alerts.state import InMemorySeriesStore, SeriesStore
from alerts.targets import Targets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transition:
    """A series entering a state (for timelines, backtests and logs)."""

    rule: str
    room_id: str
    fingerprint: str
    state: State
    at: int
    value: float | None
    labels: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"rule": self.rule, "room_id": self.room_id, "state": self.state.value,
                "at": self.at, "value": self.value, "labels": self.labels,
                "fingerprint": self.fingerprint}


@dataclass
class EvalResult:
    now_ms: int | None
    alerts: list[Alert]  # every firing alert, plus those resolved in this evaluation
    transitions: list[Transition]


class Evaluator:
    """Shared by the live worker and `roompulse backtest`: the same code over any KpiReader."""

    def __init__(self, rules: RulePack | Callable[[], RulePack],
                 targets: Targets | Callable[[], Targets], store: SeriesStore | None = None, *,
                 max_gap_ms: int = 30_000, registry: CollectorRegistry | None = None) -> None:
        self._rules = rules if callable(rules) else (lambda: rules)
        self._targets = targets if callable(targets) else (lambda: targets)
        self.store = store or InMemorySeriesStore()
        self.max_gap_ms = max_gap_ms
        self.series: dict[str, Series] | None = None
        self._known: dict[str, Rule] = {}  # rules seen before, to word the end of removed ones
        self._duration = self._gauge = None
        if registry is not None:
            self._duration = Histogram("roompulse_alert_evaluation_seconds",
                                       "Time one evaluation over all rooms takes",
                                       registry=registry)
            self._gauge = Gauge("roompulse_alert_series", "Alert series by lifecycle state",
                                ["state"], registry=registry)

    async def evaluate(self, reader: KpiReader, now_ms: int | None = None) -> EvalResult:
        started = time.perf_counter()
        if self.series is None:
            self.series = await self.store.load()
        now = now_ms if now_ms is not None else await resolve(reader.stream_clock_ms())
        if now is None:
            return EvalResult(None, [], [])
        rules = {r.id: r for r in self._rules().rules if r.enabled}
        self._known.update(rules)
        readings = await self._read(reader, rules, now)
        result = await self._advance(rules, readings, now)
        if self._duration is not None:
            self._duration.observe(time.perf_counter() - started)
            for st in (State.pending, State.firing):
                self._gauge.labels(st.value).set(
                    sum(1 for s in self.series.values() if s.state == st))
        return result

    async def _read(self, reader: KpiReader, rules: dict[str, Rule], now: int
                    ) -> dict[str, tuple[Rule, Series, Reading, float | None]]:
        targets = self._targets()
        cache = SnapshotCache(reader)
        out: dict[str, tuple[Rule, Series, Reading, float | None]] = {}

        async def read_room(state) -> None:
            rt = targets.resolve(state.room_id, state.brand_id, state.stage, state.phase, now)
            moment = targets.moment(rt.stage, rt.phase, now, state.broadcast_start_ms)
            for rule in rules.values():
                try:
                    readings = await read_rule(rule, state, rt, moment, cache)
                except Exception:  # one bad rule or room must not stop the others
                    log.exception("rule %s failed on room %s", rule.id, state.room_id)
                    continue
                for rd in readings:
                    fp = fingerprint(rule.id, state.room_id, rd.labels)
                    base = Series(fingerprint=fp, rule=rule.id, room_id=state.room_id,
                                  labels=rd.labels)
                    out[fp] = (rule, base, rd, moment.minutes_since_start)

        # Rooms are read concurrently: each read is a Redis round trip, so latency, not CPU,
        # bounds an evaluation over many rooms.
        live = [s for s in await resolve(reader.rooms())
                if s.broadcast_end_ms is None or s.broadcast_end_ms > now]
        await asyncio.gather(*(read_room(s) for s in live))
        return out

    async def _advance(self, rules: dict[str, Rule], readings: dict, now: int) -> EvalResult:
        assert self.series is not None
        alerts: list[Alert] = []
        transitions: list[Transition] = []
        upserts: list[Series] = []
        deletes: list[str] = []
        for fp in sorted(set(self.series) | set(readings)):
            prev = self.series.get(fp)
            if fp in readings:
                rule, base, reading, minutes = readings[fp]
                prev = prev or base
                context = {"evidence": reading.evidence.model_dump(), "minutes": minutes,
                           "product_id": reading.product_id, "product_name": reading.product_name,
                           "source": reading.source}
                prev = prev.model_copy(update={"context": context})
                cond = reading.cond
            else:
                cond = Cond.clear
                rule = rules.get(prev.rule)
            for_ms = rule.for_ if rule else 0
            keep = rule.keep_firing_for if rule else 0
            rule = rule or self._known.get(prev.rule)
            new, trans = step(prev, cond, now, for_ms=for_ms, keep_firing_for_ms=keep,
                              max_gap_ms=self.max_gap_ms)
            if trans is not None:
                transitions.append(Transition(new.rule, new.room_id, fp, trans, now,
                                              new.context.get("evidence", {}).get("value"),
                                              new.labels))
            if new.state in (State.inactive, State.resolved):
                if self.series.pop(fp, None) is not None:
                    deletes.append(fp)
            else:
                self.series[fp] = new
                upserts.append(new)
            if rule is not None and (new.state == State.firing or trans == State.resolved):
                alerts.append(build_alert(rule, new))
        await self.store.save(upserts, deletes)
        transitions.sort(key=lambda t: (t.room_id, t.rule, t.fingerprint))
        alerts.sort(key=lambda a: (a.room_id, a.rule, a.fingerprint))
        return EvalResult(now, alerts, transitions)


def build_alert(rule: Rule, s: Series) -> Alert:
    """The Alert for a firing or just-resolved series, worded from its last reading."""
    ctx = s.context
    ev = Evidence.model_validate(ctx.get("evidence") or {"kpi": rule.kpi or "", "value": None,
                                                          "window": rule.window_or_default})
    reading = Reading(Cond.breach, ev, s.labels, ctx.get("product_id"), ctx.get("product_name"),
                      ctx.get("source"))
    resolved = s.state == State.resolved
    summary, action = texts(rule, reading, s.room_id, ctx.get("minutes"), resolved)
    return Alert(
        fingerprint=s.fingerprint, rule=rule.id, room_id=s.room_id,
        state=AlertState.resolved if resolved else AlertState.firing,
        severity=rule.severity, audience=rule.audience, labels={**rule.labels, **s.labels},
        product_id=reading.product_id, product_name=reading.product_name, source=reading.source,
        starts_at=s.fired_at or s.last_eval_at or 0, ends_at=s.resolved_at,
        minutes_since_start=ctx.get("minutes"), evidence=ev, summary=summary, action=action,
    )
