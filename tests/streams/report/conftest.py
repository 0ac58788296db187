"""One recorded 2-hour simulated broadcast (two rooms, bad and duplicate messages) and its truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.recordings import read_recording
from streams.simulator import ScenarioSpec, SimConfig, record

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def sim_config(**kw) -> SimConfig:
    base: dict = {"start_ms": START_MS, "rooms": 2, "seed": 11, "duration_min": 120,
                  "exposures_per_min": 80, "bad_events": 0.01, "duplicates": 0.01,
                  "scenarios": (ScenarioSpec("low-early-interaction", "room-1"),)}
    base.update(kw)
    return SimConfig(**base)


@pytest.fixture(scope="session")
def recording(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("report") / "broadcast.jsonl"
    truth = record(sim_config(), path)
    return path, truth.to_json()


@pytest.fixture(scope="session")
def unique_events(recording) -> list[dict]:
    """Good events, each event_id once, in recording order."""
    seen, out = set(), []
    for rec in read_recording(recording[0]):
        if rec.obj is not None and rec.obj["event_id"] not in seen:
            seen.add(rec.obj["event_id"])
            out.append(rec.obj)
    return out
