"""Every rule's readings for one room: find the windows the rules need, read them in one go.

Rules ask for windows one at a time (conditions.read_rule). Against Redis that is a round trip
per window and per rule; instead the rules first run over a recorder that answers every KPI
with a usable stand-in and notes which (level, window, end) and which KPIs were asked for. One
batch read (alerts.reader.BatchReader) then fetches exactly those, and the rules run again over
the real values. A reader without batch support is read window by window, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alerts.conditions import Reading, Row, SnapshotCache, read_rule
from alerts.reader import KpiReader, ReadNeed, ReadRequest
from alerts.rules import Rule
from alerts.scope import Moment
from alerts.targets import RoomTargets
from schemas.kpis import KpiValue, RoomState

# Usable for every rule: a value, and a denominator above any min_denominator.
_STAND_IN = KpiValue(value=1.0, numerator=1e12, denominator=1e12)


class _Probe(dict[str, KpiValue]):
    """A row's KPIs in the dry run: notes every KPI asked for and answers with the stand-in."""

    def __init__(self, seen: set[str]) -> None:
        super().__init__()
        self.seen = seen

    def get(self, key: str, default: object = None) -> KpiValue:
        self.seen.add(key)
        return _STAND_IN

    def __getitem__(self, key: str) -> KpiValue:
        return self.get(key)


class _Recorder:
    """Stands in for SnapshotCache during the dry run."""

    def __init__(self, state: RoomState) -> None:
        self.state = state
        self.rule: Rule | None = None
        self.kpis: dict[ReadRequest, set[str]] = {}
        self.products: dict[ReadRequest, set[str] | None] = {}

    async def rows(self, room_id: str, per: str, window: str, now_ms: int) -> list[Row]:
        req = (per, window, now_ms)
        seen = self.kpis.setdefault(req, set())
        pinned = self.state.pinned_product_id
        if per == "product":
            wanted = self.products.get(req, set())
            if self.rule is not None and self.rule.pinned_only:
                if wanted is not None and pinned is not None:
                    wanted.add(pinned)
            else:
                wanted = None  # some rule looks at every product
            self.products[req] = wanted
            return [Row({"product_id": pinned or ""}, _Probe(seen), pinned)]
        if per == "source":
            return [Row({"source": ""}, _Probe(seen), source="")]
        return [Row({}, _Probe(seen))]

    def needs(self) -> dict[ReadRequest, ReadNeed]:
        out = {}
        for req, kpis in self.kpis.items():
            products = self.products.get(req)
            out[req] = ReadNeed(frozenset(kpis),
                                None if products is None else frozenset(products))
        return out


ErrorFn = Callable[[Rule, str, BaseException], None]


async def needs_of(rules: list[Rule], state: RoomState, targets: RoomTargets,
                   moment: Moment) -> dict[ReadRequest, ReadNeed]:
    """The dry run: which windows and KPIs these rules read in this room now."""
    recorder = _Recorder(state)
    for rule in rules:
        recorder.rule = rule
        try:
            await read_rule(rule, state, targets, moment, recorder)
        except Exception:  # noqa: BLE001, S112 - the real pass reports it
            continue
    return recorder.needs()


async def readings_of(rules: list[Rule], state: RoomState, targets: RoomTargets,
                      moment: Moment, reader: KpiReader, results: dict[ReadRequest, Any] | None,
                      on_error: ErrorFn) -> tuple[list[tuple[Rule, Reading]], set[str]]:
    """(rule, reading) pairs, and the ids of rules that failed on this room.

    `results` come from a batch read; a window missing from them is read from `reader`.
    """
    room_id = state.room_id
    cache = SnapshotCache(reader)
    for (per, window, now), result in (results or {}).items():
        cache.put(room_id, per, window, now, result)
    out: list[tuple[Rule, Reading]] = []
    failed: set[str] = set()
    for rule in rules:
        try:
            readings = await read_rule(rule, state, targets, moment, cache)
        except Exception as exc:  # noqa: BLE001 - one bad rule must not stop the others
            failed.add(rule.id)
            on_error(rule, room_id, exc)
            continue
        out.extend((rule, rd) for rd in readings)
    return out, failed
