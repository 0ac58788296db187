"""The audience attribution through a real store: the apply writes the viewer map and the
minute counters (memory, one Redis node, a 3-master Cluster), a fresh tracker loads the map
back halfway (a new worker), and the minutes read back give the recording's per-viewer rows."""

from __future__ import annotations

import uuid

import pytest

from schemas.events import Source
from streams.kpi.audience import AudienceTracker
from streams.kpi.audience_store import load_rooms, read_minute
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_base import KpiStoreBase, Outcome
from streams.kpi.store_cluster import kpi_store
from streams.kpi.store_memory import InMemoryKpiStore
from streams.report.audience import from_minutes
from tests.streams.kpi.test_audience import T0, by_topic, oracle, traffic

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
ROOMS = ("r0", "r1")


def tracker(settings: KpiSettings, store: KpiStoreBase) -> AudienceTracker:
    return AudienceTracker(store.keys, settings.audience_max_users_per_room,
                           settings.audience_max_users, settings.audience_max_regions,
                           settings.audience_max_age_bands)


async def attribute_all(store: KpiStoreBase, settings: KpiSettings, events: list) -> None:
    """The worker's steps, batch by batch (fold, load what is missing, attribute, apply), with
    a new tracker from the middle on."""
    t = tracker(settings, store)
    for n, i in enumerate(range(0, len(events), 200)):
        if n == len(events) // 400:
            t = tracker(settings, store)  # a new worker: its memory is empty
        folder = BatchFolder(settings)
        folder.add_all(events[i:i + 200])
        delta = folder.take()
        missing = t.missing(delta.audience)
        if missing:
            await load_rooms(store, t, missing)
        t.fold(delta.audience, delta.extra_hashes, delta.extra_minutes)
        result = await store.apply(delta, {("t.views", 0): i + 200}, "g", T0 + 10**9)
        assert result.outcome is Outcome.APPLIED


async def rows(store: KpiStoreBase, room: str, events: list) -> dict:
    minutes = sorted({e.ts - e.ts % 60_000 for e in events if e.room_id == room})
    return from_minutes([{"audience": await read_minute(store, room, m, T0)} for m in minutes])


async def test_one_node_and_a_cluster_store_what_memory_does(redis_client, redis_settings):
    settings = KpiSettings(key_prefix=f"t{uuid.uuid4().hex[:10]}", audience=True)
    events = [e for e in by_topic(traffic(5), 9) if e.room_id in ROOMS]
    for e in events:  # what the folder reads besides the tracker's fields
        e.platform, e.product_id, e.count, e.text, e.brand_id = "douyin", "p", 1, "hi", None
        e.source = Source(e.source)
    memory = InMemoryKpiStore(settings)
    server = kpi_store(redis_client, settings)
    assert (type(server).__name__ == "ClusterKpiStore") == redis_settings.cluster
    for store in (memory, server):
        await attribute_all(store, settings, events)
    for room in ROOMS:
        want = oracle(events, room)
        got = await rows(server, room, events)
        assert got.pop("audience_untracked") == 0
        assert got == want == {k: v for k, v in (await rows(memory, room, events)).items()
                               if k != "audience_untracked"}
