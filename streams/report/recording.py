"""One room of a recording through the one ingest path into an in-memory KPI store, read back
minute by minute exactly as the live history writer reads Redis."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.events import MAX_FUTURE_MS
from streams.history.snapshot import MINUTE_MS, read_minute, read_summary
from streams.ingest.limits import LiveRooms
from streams.ingest.prepare import IngestState, prepare
from streams.ingest.timepolicy import TimePolicy
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_memory import InMemoryKpiStore
from streams.recordings import read_recording
from streams.report.audience import Audience
from streams.report.segments import Segments

GROUP = "report"
TP = ("recording", 0)
# A recording's producer retries can be far apart; remember every event id of the room.
DEDUP_IDS = 5_000_000


@dataclass(slots=True)
class Rec:
    """What `prepare` needs of a Kafka record, plus the parsed event for the audience."""

    offset: int
    key: bytes | None
    value: bytes
    obj: dict | None
    timestamp: int | None = None


@dataclass
class Collected:
    summary: dict[str, Any] | None
    minutes: list[dict[str, Any]] = field(default_factory=list)
    audience: Audience = field(default_factory=Audience)
    segments: Segments = field(default_factory=Segments)
    events: int = 0
    dead_letters: Counter = field(default_factory=Counter)


def room_values(path: str | Path, room_id: str) -> Iterator[bytes]:
    """The room's messages in a recording, read again (a backtest needs no copy in memory)."""
    for rec in read_recording(path):
        if _room_of(rec) == room_id:
            yield rec.value


def _room_of(rec) -> str | None:
    if rec.obj is not None:
        room = rec.obj.get("room_id")
        return room if isinstance(room, str) else None
    return rec.key.decode("utf-8", "replace") if rec.key else None


class _Run:
    def __init__(self, room_id: str, settings: KpiSettings,
                 store: InMemoryKpiStore | None = None) -> None:
        self.room_id = room_id
        self.store = store or InMemoryKpiStore(settings)
        self.state = IngestState(DEDUP_IDS, LiveRooms(
            settings.max_live_rooms, settings.room_idle_s * 1000,
            settings.max_products_per_room))
        self.folder = BatchFolder(settings, self.state.rooms.product)
        self.policy = TimePolicy.from_settings(settings)
        self.out = Collected(None)
        self.batch: list[Rec] = []
        self.next_minute: int | None = None  # the first minute not yet read

    async def flush(self, applied_ms: int) -> None:
        """Apply the batch as a worker would at `applied_ms` (the end of its minute): an event
        more than MAX_FUTURE_MS ahead of that is dead-lettered `future_ts`, as live."""
        if not self.batch:
            return
        p = prepare([(TP, self.batch)], self.state, self.folder, self.policy, applied_ms)
        await self.store.apply(p.delta, p.offsets, GROUP, applied_ms)
        for r in p.rejected:
            self.out.dead_letters[r.why.reason.value] += 1
        folded = [rec for _, rec in p.folded_records()]
        for rec in folded:
            ev = rec.obj if rec.obj is not None else {}
            self.out.audience.add(ev)
            self.out.segments.add(ev)
        self.out.events += len(folded)
        self.batch = []

    async def read_until(self, minute: int) -> None:
        """Read every broadcast minute before `minute` (all of its events are applied)."""
        st = await self.store.room_state(self.room_id)
        if st is None or st.broadcast_start_ms is None:
            return
        m = self.next_minute
        if m is None:
            m = st.broadcast_start_ms - st.broadcast_start_ms % MINUTE_MS
        last = st.broadcast_end_ms
        while m < minute and (last is None or m <= last):
            previous = self.out.minutes[-1] if self.out.minutes else None
            self.out.minutes.append(await read_minute(self.store, self.room_id, m, st, previous))
            m += MINUTE_MS
        self.next_minute = m


async def collect(path: str | Path, room_id: str, settings: KpiSettings | None = None, *,
                  store: InMemoryKpiStore | None = None,
                  after_minute: Callable[[], Awaitable[Any]] | None = None) -> Collected:
    """The room's minutes and broadcast summary; events are applied a minute at a time, and a
    minute is read once the stream has moved past it (as the live writer does).

    `after_minute` is awaited after each minute's events are applied (a live-writer test).
    """
    run = _Run(room_id, settings or KpiSettings(), store)
    current: int | None = None
    for n, rec in enumerate(read_recording(path)):
        if _room_of(rec) != room_id:
            continue
        ts = rec.obj.get("ts") if rec.obj is not None else None
        # A message whose ts is implausibly far ahead (it will be dead-lettered) or not a
        # number does not move the minute; it goes into the current batch.
        if isinstance(ts, int) and not isinstance(ts, bool) and (
                current is None or ts <= current + MINUTE_MS + MAX_FUTURE_MS):
            minute = ts - ts % MINUTE_MS
            if current is None:
                current = minute
            elif minute > current:
                await run.flush(current + MINUTE_MS)
                if after_minute is not None:
                    await after_minute()
                await run.read_until(minute)
                current = minute
        run.batch.append(Rec(n, rec.key, rec.value, rec.obj))
    if current is not None:
        await run.flush(current + MINUTE_MS)
        if after_minute is not None:
            await after_minute()
        await run.read_until(current + MINUTE_MS)
    run.out.summary = await read_summary(run.store, room_id)
    return run.out
