"""Simulation settings and scenario selection (`NAME[:ROOM]`)."""

from __future__ import annotations

from dataclasses import dataclass, field

SCENARIOS = ("baseline", "low-early-interaction", "cart-surge", "stream-stall", "negative-comments")
# Events per room exposure, measured on baseline runs; turns --rate into an audience size.
EVENTS_PER_EXPOSURE = 2.75
DEFAULT_EXPOSURES_PER_MIN = 300.0


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    room_id: str

    @classmethod
    def parse(cls, text: str, default_room: str = "room-1") -> ScenarioSpec:
        name, _, room = text.partition(":")
        name = name.strip()
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
        return cls(name, room.strip() or default_room)


@dataclass(frozen=True)
class SimConfig:
    """Everything that decides the generated events; same config + seed = same bytes."""

    start_ms: int
    rooms: int = 3
    room_prefix: str = "room-"
    seed: int = 1
    duration_min: int = 120
    exposures_per_min: float = DEFAULT_EXPOSURES_PER_MIN
    scenarios: tuple[ScenarioSpec, ...] = field(default_factory=tuple)
    bad_events: float = 0.0
    duplicates: float = 0.0

    def __post_init__(self) -> None:
        if self.rooms < 1:
            raise ValueError("rooms must be at least 1")
        if self.duration_min < 1:
            raise ValueError("duration must be at least 1 broadcast minute")
        if not 0 <= self.bad_events < 1 or not 0 <= self.duplicates < 1:
            raise ValueError("--bad-events and --duplicates are fractions in [0, 1)")
        known = set(self.room_ids)
        for spec in self.scenarios:
            if spec.room_id not in known:
                raise ValueError(f"scenario {spec.name} names unknown room {spec.room_id!r}")

    @property
    def room_ids(self) -> list[str]:
        return [f"{self.room_prefix}{i}" for i in range(1, self.rooms + 1)]

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_min * 60_000

    def scenarios_for(self, room_id: str) -> set[str]:
        return {s.name for s in self.scenarios if s.room_id == room_id}

    def to_json(self) -> dict:
        return {
            "start_ms": self.start_ms, "rooms": self.room_ids, "seed": self.seed,
            "duration_min": self.duration_min, "exposures_per_min": self.exposures_per_min,
            "scenarios": [f"{s.name}:{s.room_id}" for s in self.scenarios],
            "bad_events": self.bad_events, "duplicates": self.duplicates,
        }


def exposures_for_rate(rate: float, speed: float, rooms: int) -> float:
    """Room exposures per broadcast minute so that the whole run emits ~`rate` events/s wall."""
    return max(1.0, rate / speed * 60.0 / rooms / EVENTS_PER_EXPOSURE)
