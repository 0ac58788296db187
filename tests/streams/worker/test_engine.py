"""The batched KPI loop against the real broker and valkey: exact KPIs, dead letters, counts."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from streams.bench import workload
from tests.streams.worker.conftest import (
    consumed,
    make_engine,
    partition_totals,
    read_dead_letters,
    running,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
WINDOW = "30m"


async def assert_exact(store, w: workload.Workload) -> None:
    for room in w.rooms:
        snap = await store.room_kpis(room, WINDOW)
        got = {k: snap.kpis[k].value for k in w.expected[room]}
        assert got == dict(w.expected[room]), room


async def test_kpis_are_exact_with_duplicates_bad_and_late_events(stack, topic_settings,
                                                                   kpi_settings, store):
    w = workload.build(3, 40, int(time.time() * 1000), dup_every=9, bad_every=10, late_every=15)
    await workload.produce(stack.kafka, topic_settings, w.messages)
    engine = make_engine(stack, topic_settings, kpi_settings, store, batch_max_records=64)
    async with running(engine):
        await wait_for(lambda: consumed(engine) >= len(w.messages), what="all consumed")
    await assert_exact(store, w)

    totals = partition_totals(engine)
    cons = totals["roompulse_worker_consumed_total"]
    proc = totals["roompulse_worker_processed_total"]
    dead = totals.get("roompulse_worker_dead_lettered_total", {})
    assert sum(cons.values()) == len(w.messages)
    for tp, n in cons.items():
        assert proc.get(tp, 0) + dead.get(tp, 0) == n, tp
    assert sum(totals["roompulse_worker_duplicates_total"].values()) == w.duplicates

    letters = await read_dead_letters(stack, topic_settings.deadletter, sum(w.bad.values()))
    assert Counter(d["reason"] for d in letters) == w.bad
    bad_values = {v for _, _, v in w.messages if v == b"not json {"}
    assert {d["original"] for d in letters if d["reason"] == "not_json"} == bad_values
    assert all(d["source_topic"].startswith(topic_settings.prefix) for d in letters)
    # Redis holds the next offset of every partition that had messages.
    offsets = await store.load_offsets(engine.group)
    assert sum(offsets.values()) == len(w.messages)


async def test_restart_resumes_from_redis_offsets_without_double_counting(
        stack, topic_settings, kpi_settings, store):
    now = int(time.time() * 1000)
    first = workload.build(2, 20, now - 5_000, tag="a", dup_every=5)
    await workload.produce(stack.kafka, topic_settings, first.messages)
    engine = make_engine(stack, topic_settings, kpi_settings, store, batch_max_records=50)
    group = engine.group
    async with running(engine):
        await wait_for(lambda: consumed(engine) >= len(first.messages), what="first half")
    # The same group again, plus a duplicate of an event already applied before the restart.
    second = workload.build(2, 20, now, tag="b")
    again = first.messages[-1]
    await workload.produce(stack.kafka, topic_settings, second.messages + [again])
    engine2 = make_engine(stack, topic_settings, kpi_settings, store, group=group)
    async with running(engine2):
        await wait_for(lambda: consumed(engine2) >= len(second.messages) + 1, what="second")
    await assert_exact(store, first)
    await assert_exact(store, second)
    assert sum(partition_totals(engine2)["roompulse_worker_duplicates_total"].values()) == 1
