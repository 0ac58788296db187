"""Records, events and one ingest run, shared by the ingest tests (pure, no I/O)."""

from __future__ import annotations

from collections import namedtuple

import orjson

from streams.ingest.limits import LiveRooms
from streams.ingest.prepare import IngestState, prepare
from streams.ingest.timepolicy import TimePolicy
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder

Rec = namedtuple("Rec", "offset key value timestamp", defaults=(None,))
NOW = 1_800_000_000_000
GRACE = 120_000
TP = ("t.interactions", 0)
SETTINGS = KpiSettings()
POLICY = TimePolicy.from_settings(SETTINGS)


def like(eid: str, ts: int = NOW, room: str = "r") -> bytes:
    return orjson.dumps({"type": "like", "event_id": eid, "room_id": room, "ts": ts})


def records(values: list[bytes], start: int = 0, record_ts: int | None = None) -> list[Rec]:
    return [Rec(start + i, b"r", v, record_ts) for i, v in enumerate(values)]


def new_state(dedup: int = 100, rooms: int = 5000, products: int = 500) -> IngestState:
    return IngestState(dedup, LiveRooms(rooms, 3_600_000, products))


def run(values: list[bytes], state: IngestState | None = None, start: int = 0,
        tp: tuple[str, int] = TP, record_ts: int | None = None, now: int = NOW):
    state = state or new_state()
    folder = BatchFolder(SETTINGS, state.rooms.product)
    return prepare([(tp, records(values, start, record_ts))], state, folder, POLICY, now), state
