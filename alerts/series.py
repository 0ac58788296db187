"""A KpiReader over KPI series per minute (promtool notation), for rule tests and unit tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from alerts.scope import parse_duration_ms
from schemas.kpis import (
    KpiValue,
    ProductSnapshot,
    RoomSnapshot,
    RoomState,
    SourceSnapshot,
    WindowInfo,
)

MIN = 60_000
_TERM = re.compile(r"^(_|-?\d+(?:\.\d+)?(?:e-?\d+)?)(?:([+-]\d+(?:\.\d+)?(?:e-?\d+)?)?x(\d+))?$")


def expand(spec: str | float) -> list[float | None]:
    """promtool series notation: `1 2 3`, `0.1x4` (five values), `1+2x3` (1 3 5 7),
    `_` = missing."""
    if isinstance(spec, (int, float)):
        return [float(spec)]
    out: list[float | None] = []
    for term in str(spec).split():
        m = _TERM.match(term)
        if not m:
            raise ValueError(f"series term {term!r}: use v, vxN, a+bxN or _")
        start, step, times = m.group(1), m.group(2), m.group(3)
        if start == "_":
            out.extend([None] * (int(times) + 1 if times else 1))
            continue
        a = float(start)
        if times is None:
            out.append(a)
            continue
        b = float(step) if step else 0.0
        out.extend(a + i * b for i in range(int(times) + 1))
    return out


@dataclass
class Series:
    values: list[float | None]
    denominator: list[float | None] | None = None

    def at(self, minute: int) -> KpiValue:
        if not self.values:
            return KpiValue(value=None)
        i = min(max(minute, 0), len(self.values) - 1)
        den = None
        if self.denominator:
            den = self.denominator[min(i, len(self.denominator) - 1)]
        v = self.values[i]
        num = None if v is None or den is None else v * den
        return KpiValue(value=v, numerator=num, denominator=den)


def series_of(spec: str | float | dict[str, Any]) -> Series:
    """A KPI's series from the test file: values, or {values, denominator}."""
    if isinstance(spec, dict):
        den = spec.get("denominator")
        return Series(expand(spec["values"]), expand(den) if den is not None else None)
    return Series(expand(spec))


@dataclass
class Member:
    name: str | None = None
    kpis: dict[str, Series] = field(default_factory=dict)

    def snapshot(self, minute: int) -> dict[str, KpiValue]:
        return {k: s.at(minute) for k, s in self.kpis.items()}


@dataclass
class RoomSeries:
    state: RoomState
    kpis: Member
    products: dict[str, Member] = field(default_factory=dict)
    sources: dict[str, Member] = field(default_factory=dict)
    silences: list[tuple[int, int]] = field(default_factory=list)  # [from, until) offsets


class SeriesReader:
    """Values indexed by whole minutes since `start_ms`; every window reads the same value."""

    def __init__(self, start_ms: int) -> None:
        self.start_ms = start_ms
        self.now_ms = start_ms
        self.rooms_: dict[str, RoomSeries] = {}

    def add_room(self, room_id: str, spec: dict[str, Any]) -> None:
        """A room of a test case, the YAML mapping as the test file gives it."""
        st = RoomState(room_id=room_id, brand_id=spec.get("brand_id"), stage=spec.get("stage"),
                       phase=spec.get("phase"), pinned_product_id=spec.get("pinned"))
        if spec.get("broadcast_start", "0m") is not None:
            start = parse_duration_ms(spec.get("broadcast_start", 0))
            st.broadcast_start_ms = self.start_ms + start
        if spec.get("broadcast_end") is not None:
            st.broadcast_end_ms = self.start_ms + parse_duration_ms(spec["broadcast_end"])
        silences = [(parse_duration_ms(s["from"]), parse_duration_ms(s["until"]))
                    for s in spec.get("silent", [])]
        products = {pid: Member(p.get("name"), {k: series_of(v) for k, v in p["kpis"].items()})
                    for pid, p in (spec.get("products") or {}).items()}
        sources = {src: Member(None, {k: series_of(v) for k, v in s["kpis"].items()})
                   for src, s in (spec.get("sources") or {}).items()}
        self.rooms_[room_id] = RoomSeries(st, Member(None, {k: series_of(v) for k, v in
                                                            (spec.get("kpis") or {}).items()}),
                                          products, sources, silences)

    def _minute(self, now_ms: int | None) -> int:
        return ((now_ms if now_ms is not None else self.now_ms) - self.start_ms) // MIN

    def _info(self, window: str, now_ms: int | None) -> WindowInfo:
        end = now_ms if now_ms is not None else self.now_ms
        return WindowInfo(window=window, start_ms=end, end_ms=end)

    def _last_event(self, r: RoomSeries) -> int:
        offset = self.now_ms - self.start_ms
        for a, b in r.silences:
            if a <= offset < b:
                return self.start_ms + a
        return self.now_ms

    def rooms(self) -> list[RoomState]:
        return [r.state.model_copy(update={"last_event_ms": self._last_event(r)})
                for r in self.rooms_.values()]

    def room_state(self, room_id: str) -> RoomState | None:
        r = self.rooms_.get(room_id)
        if r is None:
            return None
        return r.state.model_copy(update={"last_event_ms": self._last_event(r)})

    def room_kpis(self, room_id: str, window: str, now_ms: int | None = None) -> RoomSnapshot:
        r = self.rooms_[room_id]
        return RoomSnapshot(room_id=room_id, info=self._info(window, now_ms),
                            kpis=r.kpis.snapshot(self._minute(now_ms)))

    def product_kpis(self, room_id: str, window: str, now_ms: int | None = None
                     ) -> list[ProductSnapshot]:
        m = self._minute(now_ms)
        return [ProductSnapshot(room_id=room_id, product_id=pid, product_name=p.name,
                                info=self._info(window, now_ms), kpis=p.snapshot(m))
                for pid, p in self.rooms_[room_id].products.items()]

    def source_kpis(self, room_id: str, window: str, now_ms: int | None = None
                    ) -> list[SourceSnapshot]:
        m = self._minute(now_ms)
        return [SourceSnapshot(room_id=room_id, source=src, info=self._info(window, now_ms),
                               kpis=s.snapshot(m))
                for src, s in self.rooms_[room_id].sources.items()]

    def stream_clock_ms(self) -> int:
        return self.now_ms
