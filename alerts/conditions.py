"""Turn one rule into readings for one room: each series' condition and its KPI evidence."""

from __future__ import annotations

from collections.abc import Callable

from alerts.baselines import shrink, thin, usable_value
from alerts.history import HistoryBaselines, history_reading
from alerts.lifecycle import Cond
from alerts.model import Evidence
from alerts.pace import goal_of, pace_reading
from alerts.reader import resolve
from alerts.rows import (  # re-exported: the evaluator, roomreading and messages import them here
    LevelRead,
    Reading,
    Row,
    RowSource,
    SnapshotCache,
    to_rows,
)
from alerts.rules import Rule
from alerts.scope import Moment
from alerts.targets import RoomTargets
from schemas.kpis import KpiValue, RoomState, parse_window

__all__ = ["LevelRead", "Reading", "Row", "RowSource", "SnapshotCache", "compare", "read_rule",
           "to_rows"]


def compare(value: float, *, above: float | None, below: float | None, recovery: float,
            recover_at: float | None) -> Cond:
    """Breach past the threshold; clear only past the recovery threshold (hysteresis)."""
    if above is not None:
        if value > above:
            return Cond.breach
        back = recover_at if recover_at is not None else above * (1 - recovery)
        return Cond.clear if value <= back else Cond.hold
    if below is None:
        raise ValueError("compare: give `above` or `below`")
    if value < below:
        return Cond.breach
    back = recover_at if recover_at is not None else below * (1 + recovery)
    return Cond.clear if value >= back else Cond.hold


def _evidence(kpi: str, kv: KpiValue, window: str, *, target: float | None,
              baseline: float | None = None) -> Evidence:
    return Evidence(kpi=kpi, value=kv.value, numerator=kv.numerator,
                    denominator=kv.denominator, window=window, target=target, baseline=baseline)


def _reading(row: Row, cond: Cond, ev: Evidence, extra: dict[str, str] | None = None) -> Reading:
    return Reading(cond, ev, {**row.key, **(extra or {})}, row.product_id, row.product_name,
                   row.source)


async def read_rule(rule: Rule, state: RoomState, targets: RoomTargets, moment: Moment,
                    cache: RowSource) -> list[Reading]:
    """Every series this rule has in this room right now (absent series resolve)."""
    if not rule.scope.holds(moment):
        return []
    now = moment.now_ms
    if rule.kind == "no_data":
        if not state.live or state.last_event_ms is None:
            return []
        silent_ms = max(0, now - state.last_event_ms)
        cond = Cond.breach if silent_ms >= rule.after else Cond.clear
        ev = Evidence(kpi="silence_s", value=silent_ms / 1000, window=f"{rule.after // 1000}s",
                      target=rule.after / 1000)
        return [Reading(cond, ev)]
    if rule.kind == "pace":
        return await _pace(rule, targets, moment, cache, state.room_id)
    if rule.kind == "history":
        return await _history(rule, moment, cache, state.room_id)
    if rule.kind == "target":
        out = await _target(rule, targets, moment, cache, state.room_id)
    elif rule.kind == "change":
        out = await _change(rule, moment, cache, state.room_id)
    else:
        out = await _threshold(rule, targets, moment, cache, state.room_id)
    if rule.pinned_only:
        out = [r for r in out if r.product_id == state.pinned_product_id]
        for r in out:
            r.product_name = r.product_name or state.pinned_product_name
    return out


async def _threshold(rule: Rule, targets: RoomTargets, moment: Moment, cache: RowSource,
                     room_id: str) -> list[Reading]:
    kpi = rule.kpi or "negative_comment_share"
    window = rule.window_or_default
    above, below = rule.above, rule.below
    if rule.kind == "negative_share":
        # the stage's target wins; the rule's own `above` is the fallback
        ts = [t for t in targets.for_kpi(kpi) if t.max is not None and t.scope.holds(moment)]
        if ts:
            above, window = ts[0].max, rule.window or ts[0].window
        elif above is None:
            return []
    out = []
    for row in await cache.rows(room_id, rule.fan_out, window, moment.now_ms):
        kv = row.kpis.get(kpi)
        value = usable_value(kv, rule.min_denominator)
        if kv is None or value is None:
            continue
        cond = compare(value, above=above, below=below, recovery=rule.recovery,
                       recover_at=rule.recover_at)
        for extra in rule.and_:
            ekv = row.kpis.get(extra.kpi)
            if ekv is None or ekv.value is None:
                cond = Cond.clear
                break
            c = compare(ekv.value, above=extra.above, below=extra.below, recovery=rule.recovery,
                        recover_at=None)
            cond = Cond.clear if Cond.clear in (cond, c) else (
                Cond.hold if Cond.hold in (cond, c) else Cond.breach)
        ev = _evidence(kpi, kv, window, target=above if above is not None else below)
        out.append(_reading(row, cond, ev))
    return out


async def _target(rule: Rule, targets: RoomTargets, moment: Moment, cache: RowSource,
                  room_id: str) -> list[Reading]:
    out = []
    for rt in targets.targets:
        t = rt.target
        if t.per != rule.fan_out or rt.kpi in rule.exclude_kpis:
            continue
        if (rule.kpis is not None and rt.kpi not in rule.kpis) or (rule.kpi and rt.kpi != rule.kpi):
            continue
        if not t.scope.holds(moment):
            continue
        window = rule.window or t.window
        bounds = [("min", t.min), ("max", t.max)]
        for row in await cache.rows(room_id, t.per, window, moment.now_ms):
            kv = row.kpis.get(rt.kpi)
            value = usable_value(kv, rule.min_denominator)
            if kv is None or value is None:
                continue
            for name, bound in bounds:
                if bound is None or rule.bound not in (name, "both"):
                    continue
                cond = compare(value, above=bound if name == "max" else None,
                               below=bound if name == "min" else None,
                               recovery=rule.recovery, recover_at=None)
                ev = _evidence(rt.kpi, kv, window, target=bound)
                out.append(_reading(row, cond, ev, {"kpi": rt.kpi, "bound": name}))
    return out


async def _change(rule: Rule, moment: Moment, cache: RowSource, room_id: str) -> list[Reading]:
    # Rule validation guarantees both (a KPI, a rolling window); a rule built around it fails.
    if not rule.kpi or not rule.window:
        raise ValueError(f"change rule {rule.id}: needs a kpi and a window")
    kind, win_ms = parse_window(rule.window)
    if win_ms is None:
        raise ValueError(f"change rule {rule.id}: needs a rolling window, not {kind}")
    if rule.baseline == "previous":
        base_window, base_ms = rule.window, win_ms
    elif rule.baseline == "broadcast":
        base_window, base_ms = "broadcast", win_ms
    else:
        base_window = rule.baseline.split(":", 1)[1]
        base_ms = parse_window(base_window)[1] or 0
    # both windows must lie inside the broadcast, or the baseline is half empty
    if moment.since_start_ms is None or moment.since_start_ms < win_ms + base_ms:
        return []
    now = moment.now_ms
    base_rows = {tuple(r.key.items()): r for r in
                 await cache.rows(room_id, rule.fan_out, base_window, now - win_ms)}
    base_min = rule.min_denominator if rule.min_baseline_denominator is None \
        else rule.min_baseline_denominator
    prior = None
    if rule.baseline_prior and rule.fan_out != "room":
        (room_row,) = await cache.rows(room_id, "room", base_window, now - win_ms)
        prior = room_row.kpis.get(rule.kpi)
    fallback = await _fallbacks(rule, cache, room_id, now - win_ms, base_window)
    sign = 1 if rule.direction == "increase" else -1
    out = []
    for row in await cache.rows(room_id, rule.fan_out, rule.window, now):
        kv = row.kpis.get(rule.kpi)
        base = base_rows.get(tuple(row.key.items()))
        bkv = base.kpis.get(rule.kpi) if base else None
        value = usable_value(kv, rule.min_denominator)
        if kv is None or value is None:
            continue
        versus = None
        if fallback is not None and thin(bkv, kv, rule.thin_baseline_share):
            bkv, versus = fallback(row, base_min)
        elif bkv is not None:
            bkv = shrink(bkv, prior, rule.baseline_prior)
        if bkv is None or usable_value(bkv, base_min) is None or not bkv.value:
            continue
        change = sign * (value / bkv.value - 1)
        cond = compare(change, above=rule.by, below=None, recovery=rule.recovery,
                       recover_at=rule.recover_at)
        ev = _evidence(rule.kpi, kv, rule.window, target=rule.by, baseline=bkv.value)
        reading = _reading(row, cond, ev)
        reading.versus = versus
        out.append(reading)
    return out


Fallback = Callable[[Row, float], tuple[KpiValue | None, str]]


async def _fallbacks(rule: Rule, cache: RowSource, room_id: str, base_end: int,
                     base_window: str) -> Fallback | None:
    """The baseline a thin one is replaced with. Both reads are made up front, every time, so
    the dry run (alerts.roomreading) batches them with the rest."""
    if not rule.thin_baseline_share or not rule.kpi:
        return None
    kpi = rule.kpi
    if rule.thin_fallback == "room":
        (room_row,) = await cache.rows(room_id, "room", base_window, base_end)
        return lambda _row, _min: (room_row.kpis.get(kpi), "room")
    # up to where the current window starts, so a surge is never its own baseline
    own = {tuple(r.key.items()): r for r in
           await cache.rows(room_id, rule.fan_out, "broadcast", base_end)}
    (room_all,) = await cache.rows(room_id, "room", "broadcast", base_end)

    def pick(row: Row, base_min: float) -> tuple[KpiValue | None, str]:
        mine = own.get(tuple(row.key.items()))
        kv = mine.kpis.get(kpi) if mine else None
        if usable_value(kv, base_min) is not None:
            return kv, "broadcast"
        return room_all.kpis.get(kpi), "room_broadcast"

    return pick


async def _pace(rule: Rule, targets: RoomTargets, moment: Moment, cache: RowSource,
                room_id: str) -> list[Reading]:
    kpi = rule.kpi or "gmv"
    goal = goal_of(kpi, rule.goal, targets)
    if goal is None or rule.planned is None or rule.below is None \
            or not moment.since_start_ms:
        return []  # no goal for this room (stage), or the broadcast has no start yet
    (row,) = await cache.rows(room_id, "room", "broadcast", moment.now_ms)
    got = pace_reading(kpi, row.kpis.get(kpi), goal, moment.since_start_ms, rule.planned,
                       rule.below, rule.recovery)
    return [] if got is None else [_reading(row, *got)]


async def _history(rule: Rule, moment: Moment, cache: RowSource, room_id: str
                   ) -> list[Reading]:
    if not rule.kpi or not rule.window or moment.since_start_ms is None:
        return []
    (row,) = await cache.rows(room_id, "room", rule.window, moment.now_ms)  # batched first
    # Asked before the history check: the batch's dry run (no history) notes the KPIs read here,
    # and a KPI not noted is not in the batch read.
    kv = row.kpis.get(rule.kpi)
    history = getattr(cache, "history", None)  # None in the dry run and without a history
    if not isinstance(history, HistoryBaselines):
        return []
    minute = moment.since_start_ms // 60_000
    past = await resolve(history.same_minute(room_id, rule.kpi, rule.window, minute, rule.last))
    got = history_reading(rule.kpi, kv, past[:rule.last], rule.window,
                          min_broadcasts=rule.min_broadcasts, by=rule.by,
                          direction=rule.direction, recovery=rule.recovery)
    if got is None:
        return []
    reading = _reading(row, *got)
    reading.versus = f"history:{len(past[:rule.last])}"
    return [reading]
