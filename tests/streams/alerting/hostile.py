"""Clean simulator broadcasts, the same broadcasts made hostile, and KPI snapshots to compare."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import orjson

from streams.kpi.store_memory import InMemoryKpiStore
from streams.simulator.config import ScenarioSpec, SimConfig
from streams.simulator.generate import Simulation

START = 1_767_240_000_000
MIN = 60_000
TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000


def clean_values(rooms: int, minutes: int, seed: int, scenarios: tuple[str, ...] = (),
                 exposures_per_min: float = 100) -> tuple[list[bytes], list[dict]]:
    cfg = SimConfig(start_ms=START, rooms=rooms, seed=seed, duration_min=minutes,
                    exposures_per_min=exposures_per_min,
                    scenarios=tuple(ScenarioSpec.parse(s) for s in scenarios))
    sim = Simulation(cfg)
    return [m.value for m in sim.messages()], sim.scenarios


@dataclass
class Hostile:
    """The clean lines with noise mixed in, what was mixed in, and when each line was sent."""

    lines: list[bytes] = field(default_factory=list)
    sent_at: list[int] = field(default_factory=list)  # the producer's wall clock per line
    injected: dict[str, int] = field(default_factory=dict)  # dead-letter reason -> count
    duplicates: int = 0


def make_hostile(clean: list[bytes], seed: int) -> Hostile:
    """Far-future copies (the very first and last line among them), copies an hour ahead,
    exact duplicates of recent lines, lines that are not JSON, JSON arrays, broken envelopes."""
    rng = random.Random(seed)
    h = Hostile(injected={"future_ts": 0, "not_json": 0, "not_object": 0})

    def add(line: bytes, at: int, reason: str | None = None) -> None:
        h.lines.append(line)
        h.sent_at.append(at)
        if reason:
            h.injected[reason] += 1

    def ahead(ev: dict, by: int, tag: str) -> bytes:
        return orjson.dumps({**ev, "event_id": f"{tag}-{ev['event_id']}", "ts": ev["ts"] + by})

    first = orjson.loads(clean[0])
    add(ahead(first, TEN_YEARS_MS, "first"), first["ts"], "future_ts")
    for i, line in enumerate(clean):
        ev = orjson.loads(line)
        now = ev["ts"]
        add(line, now)
        roll = rng.random()
        if roll < 0.01:
            add(ahead(ev, TEN_YEARS_MS, "ff"), now, "future_ts")
        elif roll < 0.015:
            add(ahead(ev, 3_600_000, "ah"), now, "future_ts")
        elif roll < 0.035 and i:
            add(clean[rng.randrange(max(0, i - 50), i)], now)
            h.duplicates += 1
        elif roll < 0.04:
            add(b"type=enter room_id=" + ev["room_id"].encode(), now, "not_json")
        elif roll < 0.043:
            add(orjson.dumps([ev]), now, "not_object")
        elif roll < 0.045:
            add(b'{"_raw":"!!not base64!!","_key":null,"_expect":"not_json"}', now, "not_json")
    last = orjson.loads(clean[-1])
    add(ahead(last, TEN_YEARS_MS, "last"), last["ts"], "future_ts")
    return h


async def snapshot(store: InMemoryKpiStore, now_ms: int) -> dict:
    """Every KPI a reader can ask for, per live room, at `now_ms` (room state too)."""
    out: dict = {}
    for room in sorted(await store.live_room_ids()):
        for w in ("1m", "5m", "30m", "first:10m", "broadcast"):
            out[room, w] = (await store.room_kpis(room, w, now_ms)).kpis
        out[room, "products"] = [(p.product_id, p.kpis)
                                 for p in await store.product_kpis(room, "5m", now_ms)]
        out[room, "sources"] = [(s.source, s.kpis)
                                for s in await store.source_kpis(room, "broadcast", now_ms)]
        state = await store.room_state(room)
        out[room, "state"] = state.model_dump(exclude={"last_seen_ms"}) if state else None
    return out
