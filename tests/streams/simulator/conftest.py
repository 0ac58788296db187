"""One recorded simulation with every scenario, shared by the simulator tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.recordings import read_recording
from streams.simulator import ScenarioSpec, SimConfig, record

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

SCENARIO_ROOMS = {
    "low-early-interaction": "room-2", "cart-surge": "room-3",
    "stream-stall": "room-4", "negative-comments": "room-5",
}


def full_config(**kw) -> SimConfig:
    base = dict(
        start_ms=START_MS, rooms=5, seed=7, duration_min=60, exposures_per_min=250,
        scenarios=tuple(ScenarioSpec(n, r) for n, r in SCENARIO_ROOMS.items()),
        bad_events=0.01, duplicates=0.01,
    )
    base.update(kw)
    return SimConfig(**base)


@pytest.fixture(scope="session")
def recorded(tmp_path_factory) -> tuple[Path, dict, list]:
    """(recording path, truth JSON, records) of the full-scenario run."""
    path = tmp_path_factory.mktemp("sim") / "run.jsonl"
    truth = record(full_config(), path)
    return path, truth.to_json(), list(read_recording(path))


@pytest.fixture(scope="session")
def events(recorded) -> list[dict]:
    """Unique good events in emission order."""
    seen, out = set(), []
    for rec in recorded[2]:
        if rec.obj is not None and rec.obj["event_id"] not in seen:
            seen.add(rec.obj["event_id"])
            out.append(rec.obj)
    return out
