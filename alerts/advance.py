"""One evaluation's lifecycle step over every series: readings in, alerts and transitions out.

No I/O: the caller reads the rooms before (alerts.evaluator) and saves `upserts` / `deletes`
after. A series with a reading steps on it; a held series without one steps on "clear" unless
its room was not read this time (budget, failure), when it keeps its state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alerts.conditions import Reading
from alerts.lifecycle import Cond, Series, State, step
from alerts.messages import texts
from alerts.model import Alert, AlertState, Evidence
from alerts.remote import Readings
from alerts.rules import Rule

ADVANCE_SLICE_S = 0.005  # longest stretch of lifecycle steps between two yields to the loop


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

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "room_id": self.room_id, "state": self.state.value,
                "at": self.at, "value": self.value, "labels": self.labels,
                "fingerprint": self.fingerprint}


@dataclass
class EvalResult:
    now_ms: int | None
    alerts: list[Alert]  # every firing alert, plus those resolved in this evaluation
    transitions: list[Transition]


async def advance(series: dict[str, Series], rules: dict[str, Rule], known: dict[str, Rule],
                  readings: Readings, now: int, untouched: Callable[[Series], bool],
                  max_gap_ms: int) -> tuple[EvalResult, list[Series], list[str]]:
    """Step every series in `series` (updated in place) and every reading's new one at `now`.

    `rules` are the enabled rules, `known` every rule seen before (to word the end of a
    removed rule's alerts). Returns the result and the series to save and to delete."""
    alerts: list[Alert] = []
    transitions: list[Transition] = []
    upserts: list[Series] = []
    deletes: list[str] = []
    since = time.perf_counter()
    for i, fp in enumerate(sorted(set(series) | set(readings))):
        # ~10 us a series: 10,000 readings (2,000 rooms read in a tick) held the event loop
        # ~100 ms in one go; /healthz and the API get their turn every few ms
        if not i % 128 and time.perf_counter() - since >= ADVANCE_SLICE_S:
            await asyncio.sleep(0)
            since = time.perf_counter()
        rule: Rule | None
        if fp in readings and readings[fp][0] in rules:
            rule_id, room_id, reading, minutes = readings[fp]
            rule = rules[rule_id]
            prev = series.get(fp) or Series(fingerprint=fp, rule=rule.id,
                                            room_id=room_id, labels=reading.labels)
            context = {"evidence": reading.evidence.model_dump(), "minutes": minutes,
                       "at": now, "product_id": reading.product_id,
                       "product_name": reading.product_name, "source": reading.source,
                       "versus": reading.versus}
            prev = prev.model_copy(update={"context": context})
            cond = reading.cond
        else:
            held = series.get(fp)  # not read: one of the series held
            if held is None:
                continue  # read under a rule this pack no longer has: nothing to step
            prev = held
            if prev.rule in rules and untouched(prev):
                # not read this time (budget, failure): no evidence either way; still firing
                if prev.state == State.firing:
                    alerts.append(build_alert(rules[prev.rule], prev))
                continue
            cond = Cond.clear
            rule = rules.get(prev.rule)
        for_ms = rule.for_ if rule else 0
        keep = rule.keep_firing_for if rule else 0
        rule = rule or known.get(prev.rule)
        new, trans = step(prev, cond, now, for_ms=for_ms, keep_firing_for_ms=keep,
                          max_gap_ms=max_gap_ms)
        if trans == State.resolved and fp not in readings:
            new = new.model_copy(update={"context": as_of(new.context, now)})
        if trans is not None:
            transitions.append(Transition(new.rule, new.room_id, fp, trans, now,
                                          new.context.get("evidence", {}).get("value"),
                                          new.labels))
        if new.state in (State.inactive, State.resolved):
            if series.pop(fp, None) is not None:
                deletes.append(fp)
        else:
            series[fp] = new
            upserts.append(new)
        if rule is not None and (new.state == State.firing or trans == State.resolved):
            alerts.append(build_alert(rule, new))
    transitions.sort(key=lambda t: (t.room_id, t.rule, t.fingerprint))
    alerts.sort(key=lambda a: (a.room_id, a.rule, a.fingerprint))
    return EvalResult(now, alerts, transitions), upserts, deletes


def as_of(ctx: dict[str, Any], now: int) -> dict[str, Any]:
    """A series' context moved to `now` when it resolves without a reading this evaluation
    (product unpinned, scope ended, rule removed): the minute is the minute of resolution,
    and the last reading's value, which no longer holds, is not restated as the value now."""
    minutes, at = ctx.get("minutes"), ctx.get("at")
    if isinstance(minutes, (int, float)) and isinstance(at, int):
        minutes = minutes + (now - at) / 60_000
    elif minutes is not None:
        minutes = None  # stored before "at" existed: unknown rather than stale
    evidence = dict(ctx.get("evidence") or {})
    if evidence:
        evidence.update(value=None, numerator=None, denominator=None)
    return {**ctx, "minutes": minutes, "at": now, "evidence": evidence}


def build_alert(rule: Rule, s: Series) -> Alert:
    """The Alert for a firing or just-resolved series, worded from its last reading."""
    ctx = s.context
    ev = Evidence.model_validate(ctx.get("evidence") or {"kpi": rule.kpi or "", "value": None,
                                                          "window": rule.window_or_default})
    reading = Reading(Cond.breach, ev, s.labels, ctx.get("product_id"), ctx.get("product_name"),
                      ctx.get("source"), ctx.get("versus"))
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
