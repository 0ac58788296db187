"""Durations, hours of day, and the scope (first N minutes, stage, phase, hours) a rule applies
in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

from schemas.events import Phase, Stage

_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(value: object) -> int:
    """`90s`, `5m`, `2h`, `1d`, or a bare number of seconds -> milliseconds."""
    if isinstance(value, bool):
        # ValueError, not TypeError: pydantic reports only ValueError as a validation error.
        raise ValueError("a duration is like 30s, 5m or 2h")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return int(value * 1000)
    text = str(value).strip()
    m = _DUR.match(text)
    if m:
        return int(float(m.group(1)) * _UNIT_MS[m.group(2) or "s"])
    parts = _PART.findall(text)
    if not parts or "".join(a + u for a, u in parts) != text.replace(" ", ""):
        raise ValueError(f"duration {value!r}: use e.g. 30s, 5m, 1h30m")
    return sum(int(float(a) * _UNIT_MS[u]) for a, u in parts)


DurationMs = Annotated[int, BeforeValidator(parse_duration_ms)]


def parse_hours(spec: str) -> frozenset[int]:
    """`9-18` (9:00 to 18:59), `22-2` (wraps midnight), `8,12-14` -> set of hours."""
    hours: set[int] = set()
    for part in str(spec).split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        a, b = int(lo), int(hi) if hi else int(lo)
        if not (0 <= a <= 23 and 0 <= b <= 23):
            raise ValueError(f"hours {spec!r}: hours run 0-23")
        hours.update(range(a, b + 1) if a <= b else [*range(a, 24), *range(b + 1)])
    if not hours:
        raise ValueError("hours is empty")
    return frozenset(hours)


@dataclass(frozen=True, slots=True)
class Moment:
    """Where a room is right now: stream time, stage, phase, time since broadcast start."""

    now_ms: int
    stage: str | None
    phase: str | None
    since_start_ms: int | None
    hour: int

    @property
    def minutes_since_start(self) -> float | None:
        return None if self.since_start_ms is None else round(self.since_start_ms / 60_000, 1)


def hour_of(now_ms: int, tz: str) -> int:
    return datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(ZoneInfo(tz)).hour


class Scope(BaseModel):
    """When something applies. Every given condition must hold; an empty scope always holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first: DurationMs | None = None  # only within the first N of the broadcast
    after: DurationMs | None = None  # only once N of the broadcast have passed
    stages: tuple[Stage, ...] | None = None
    phases: tuple[Phase, ...] | None = None
    hours: str | None = None  # hours of day in the file's time zone, e.g. "9-18" or "22-2"

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        if v is not None:
            parse_hours(v)
        return v

    def holds(self, m: Moment) -> bool:
        if self.first is not None and (m.since_start_ms is None or m.since_start_ms >= self.first):
            return False
        if self.after is not None and (m.since_start_ms is None or m.since_start_ms < self.after):
            return False
        if self.stages is not None and m.stage not in {s.value for s in self.stages}:
            return False
        if self.phases is not None and m.phase not in {p.value for p in self.phases}:
            return False
        return self.hours is None or m.hour in parse_hours(self.hours)
