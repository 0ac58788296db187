"""Measure the history writer's pass cost over the embedded valkey (not a test; run by hand):

    python -m tests.streams.history.measure_writer ROOMS

Records a 40-minute simulation of ROOMS rooms that ends now, applies it minute by minute through
the ingest path into a RedisKpiStore, and from minute 30 runs one HistoryWriter pass per minute.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from collections import namedtuple
from pathlib import Path

from prometheus_client import CollectorRegistry

from streams.history.settings import HistorySettings
from streams.history.store import HistoryStore
from streams.history.writer import HistoryWriter
from streams.ingest.limits import LiveRooms
from streams.ingest.prepare import IngestState, prepare
from streams.ingest.timepolicy import TimePolicy
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_redis import RedisKpiStore
from streams.recordings import read_recording
from streams.simulator import SimConfig, record
from streams.stack import start_stack
from streams.worker.app import redis_client

ROOMS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
Rec = namedtuple("Rec", "offset key value timestamp obj")
MIN = 60_000


class Feed:
    """A recording into the KPI store, one minute per apply, through the ingest path."""

    def __init__(self, store: RedisKpiStore, settings: KpiSettings) -> None:
        self.store = store
        self.state = IngestState(1_000_000, LiveRooms(5000, 3_600_000, 500))
        self.folder = BatchFolder(settings, self.state.rooms.product)
        self.policy = TimePolicy.from_settings(settings)
        self.batch: list[Rec] = []

    async def flush(self, now_ms: int) -> None:
        if self.batch:
            p = prepare([(("t", 0), self.batch)], self.state, self.folder, self.policy, now_ms)
            await self.store.apply(p.delta, p.offsets, "g", now_ms)
            self.batch = []


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


async def main(stack, tmp: str) -> None:
    now = int(time.time() * 1000)
    start = now - now % MIN - 40 * MIN
    path = Path(tmp) / "m.jsonl"
    record(SimConfig(start_ms=start, rooms=ROOMS, seed=1, duration_min=40,
                     exposures_per_min=60), path)
    settings = KpiSettings(key_prefix=f"m{uuid.uuid4().hex[:8]}")
    client = redis_client(stack.redis)
    store = RedisKpiStore(client, settings)
    history = HistoryStore.open(HistorySettings(dir=Path(tmp)))
    writer = HistoryWriter(store, HistorySettings(), registry=CollectorRegistry(), store=history)
    feed = Feed(store, settings)
    passes: list[tuple[float, float, int]] = []
    cur = None
    for n, rec in enumerate(read_recording(path)):
        ts = rec.obj.get("ts") if rec.obj else None
        if isinstance(ts, int):
            minute = ts - ts % MIN
            cur = minute if cur is None else cur
            if cur < minute < cur + 6 * MIN:
                await feed.flush(cur + MIN)
                if minute >= start + 30 * MIN:  # from minute 30: one pass per minute
                    c0, t0 = time.process_time(), time.monotonic()
                    k = await writer.tick()
                    passes.append((time.monotonic() - t0, time.process_time() - c0, k))
                cur = minute
        feed.batch.append(Rec(n, rec.key, rec.value, None, rec.obj))
    await feed.flush(cur + MIN)
    await client.aclose()
    history.close()
    first, steady = passes[0], passes[2:]
    print(f"rooms={ROOMS} first pass (30-minute backfill): wall {first[0] * 1000:.0f} ms, "
          f"cpu {first[1] * 1000:.0f} ms, rooms {first[2]}")
    print(f"steady passes: n={len(steady)}, wall median "
          f"{_median([p[0] for p in steady]) * 1000:.0f} ms, cpu median "
          f"{_median([p[1] for p in steady]) * 1000:.0f} ms")


if __name__ == "__main__":
    stack = start_stack()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(stack, tmp))
    finally:
        stack.stop()
