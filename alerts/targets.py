"""The targets file: brands -> rooms -> stages -> KPI targets, plus each room's stage and phase."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerts.scope import Moment, Scope, hour_of, parse_hours
from alerts.yamlfile import load_yaml
from schemas.events import Phase, Stage
from schemas.kpis import ProductKpi, RoomKpi, SourceKpi, parse_window

DEFAULT_TARGETS = Path(__file__).parent / "defaults" / "targets.yaml"
Per = Literal["room", "product", "source"]
KPI_NAMES: dict[str, frozenset[str]] = {
    "room": frozenset(RoomKpi), "product": frozenset(ProductKpi), "source": frozenset(SourceKpi)}


class KpiTarget(BaseModel):
    """A KPI should stay within [min, max] over `window`, while `scope` holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None
    window: str = "10m"
    per: Per = "room"
    scope: Scope = Field(default_factory=Scope)
    note: str | None = None

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        parse_window(v)
        return v

    @model_validator(mode="after")
    def _bounds(self) -> KpiTarget:
        if self.min is None and self.max is None:
            raise ValueError("a target needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


StageTargets = dict[str, KpiTarget | list[KpiTarget]]


class ScheduleSlot(BaseModel):
    """Stage/phase by hour of day, used when a room sends no control events saying otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: str
    stage: Stage | None = None
    phase: Phase | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        parse_hours(v)
        return v


class Profile(BaseModel):
    """Targets and stage defaults; used at file, brand and room level (inner overrides outer)."""

    model_config = ConfigDict(extra="forbid")

    stage: Stage | None = None
    phase: Phase | None = None
    schedule: list[ScheduleSlot] = Field(default_factory=list)
    stages: dict[Stage, StageTargets] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _kpi_names(self) -> Profile:
        for stage, targets in self.stages.items():
            for kpi, entry in targets.items():
                for t in entry if isinstance(entry, list) else [entry]:
                    if kpi not in KPI_NAMES[t.per]:
                        raise ValueError(
                            f"stages.{stage.value}.{kpi}: not a {t.per} KPI "
                            f"(known: {', '.join(sorted(KPI_NAMES[t.per]))})"
                        )
        return self


class Brand(Profile):
    rooms: dict[str, Profile] = Field(default_factory=dict, description="room id or glob")


class TargetsFile(Profile):
    """The whole file. Top-level fields are the defaults for every room."""

    version: Literal[1] = 1
    timezone: str = "Asia/Shanghai"
    brands: dict[str, Brand] = Field(default_factory=dict, description="brand id or glob")


@dataclass(frozen=True)
class ResolvedTarget:
    kpi: str
    target: KpiTarget


@dataclass(frozen=True)
class RoomTargets:
    """What applies to one room now: its stage, phase and the stage's targets."""

    stage: str | None
    phase: str | None
    targets: tuple[ResolvedTarget, ...]

    def for_kpi(self, kpi: str, per: str = "room") -> list[KpiTarget]:
        return [r.target for r in self.targets if r.kpi == kpi and r.target.per == per]


P = TypeVar("P", bound=Profile)  # a brand map gives brands, a room map gives room profiles


def _match(pattern_map: dict[str, P], key: str | None) -> list[P]:
    if key is None:
        return []
    if key in pattern_map:
        return [pattern_map[key]]
    return [p for pat, p in pattern_map.items() if fnmatch.fnmatchcase(key, pat)][:1]


RESOLVED_CACHE = 50_000  # rooms x stages x hours kept resolved (Targets.resolve)


class Targets:
    """A validated targets file with lookups by room."""

    def __init__(self, file: TargetsFile, source: str = "<memory>") -> None:
        self.file = file
        self.source = source
        # resolve() runs for every room on every alert tick and its answer changes only with
        # the room's brand, stage, phase and the hour: cached (a reload builds a new Targets).
        self._resolved: dict[tuple[str, str | None, str | None, str | None, int],
                             RoomTargets] = {}
        self._hour: tuple[int, int] = (-1, 0)  # (minute since the epoch, its local hour)
        # rooms under the same profiles in the same stage share one RoomTargets object, so
        # what is derived from it can be cached by identity (alerts.needscache)
        self._interned: dict[tuple[tuple[int, ...], str | None, str | None], RoomTargets] = {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> Targets:
        path = path or DEFAULT_TARGETS
        return cls(load_yaml(path, TargetsFile), str(path))

    def profiles(self, room_id: str, brand_id: str | None) -> list[Profile]:
        """Outer to inner: file, brand, room."""
        chain: list[Profile] = [self.file]
        brands = _match(self.file.brands, brand_id) if brand_id else []
        if not brands:  # no brand on the events: find the room under any brand
            brands = [b for b in self.file.brands.values() if _match(b.rooms, room_id)][:1]
        for brand in brands:
            chain.append(brand)
            chain.extend(_match(brand.rooms, room_id))
        return chain

    def resolve(self, room_id: str, brand_id: str | None, stage: str | None,
                phase: str | None, now_ms: int) -> RoomTargets:
        """Control events win; then the innermost schedule slot for this hour; then defaults."""
        hour = self._hour_of(now_ms)
        key = (room_id, brand_id, stage, phase, hour)
        got = self._resolved.get(key)
        if got is None:
            if len(self._resolved) >= RESOLVED_CACHE:
                self._resolved.clear()  # bounded: rebuilt in one tick
            got = self._resolved[key] = self._resolve(room_id, brand_id, stage, phase, hour)
        return got

    def _hour_of(self, now_ms: int) -> int:
        minute = now_ms // 60_000  # time zones differ from UTC by whole minutes
        if self._hour[0] != minute:
            self._hour = (minute, hour_of(now_ms, self.file.timezone))
        return self._hour[1]

    def _resolve(self, room_id: str, brand_id: str | None, stage: str | None,
                 phase: str | None, hour: int) -> RoomTargets:
        chain = self.profiles(room_id, brand_id)
        for prof in reversed(chain):
            for slot in prof.schedule:
                if hour in parse_hours(slot.hours):
                    stage = stage or (slot.stage.value if slot.stage else None)
                    phase = phase or (slot.phase.value if slot.phase else None)
                    break
        for prof in reversed(chain):
            stage = stage or (prof.stage.value if prof.stage else None)
            phase = phase or (prof.phase.value if prof.phase else None)
        merged: dict[str, list[KpiTarget]] = {}
        for prof in chain:
            for st, entries in prof.stages.items():
                if st.value != stage:
                    continue
                for kpi, entry in entries.items():
                    merged[kpi] = list(entry) if isinstance(entry, list) else [entry]
        resolved = tuple(ResolvedTarget(k, t) for k, ts in merged.items() for t in ts)
        ikey = (tuple(map(id, chain)), stage, phase)  # the profiles are this file's: ids hold
        got = self._interned.get(ikey)
        if got is None:
            if len(self._interned) >= RESOLVED_CACHE:
                self._interned.clear()
            got = self._interned[ikey] = RoomTargets(stage, phase, resolved)
        return got

    def moment(self, stage: str | None, phase: str | None, now_ms: int,
               start_ms: int | None) -> Moment:
        since = None if start_ms is None else max(0, now_ms - start_ms)
        return Moment(now_ms, stage, phase, since, self._hour_of(now_ms))
