"""The broadcast simulator: realistic, deterministic events for N rooms plus exact truth."""

from streams.simulator.config import ScenarioSpec, SimConfig
from streams.simulator.generate import Message, Simulation
from streams.simulator.runner import live_start_ms, record, replay, run_simulation
from streams.simulator.truth import Truth

__all__ = ["Message", "ScenarioSpec", "SimConfig", "Simulation", "Truth", "live_start_ms",
           "record", "replay", "run_simulation"]
