"""Single hostile inputs that once stopped or corrupted the worker, on the real broker + valkey.

Each test is the regression of one finding of issue 9; each failed on 2a9c105.
"""

from __future__ import annotations

import time
import uuid

import orjson
import pytest

from streams.bench import workload
from streams.kpi.audience_store import read_minute
from streams.kpi.config import KpiSettings
from streams.kpi.store_redis import RedisKpiStore
from streams.worker.app import redis_client
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


def like(eid: str, room: str, ts: int, count: int = 1) -> bytes:
    return orjson.dumps({"type": "like", "event_id": eid, "room_id": room, "ts": ts,
                         "count": count})


def click(eid: str, room: str, ts: int, pid: str) -> bytes:
    return orjson.dumps({"type": "product_click", "event_id": eid, "room_id": room, "ts": ts,
                         "product_id": pid, "user_id": "u1"})


def counter(engine, name: str) -> float:
    return sum(s.value for m in engine.metrics.registry.collect() for s in m.samples
               if s.name == name)


def accounted(engine) -> None:
    totals = partition_totals(engine)
    cons = totals["roompulse_worker_consumed_total"]
    proc = totals["roompulse_worker_processed_total"]
    dead = totals.get("roompulse_worker_dead_lettered_total", {})
    for tp, n in cons.items():
        assert proc.get(tp, 0) + dead.get(tp, 0) == n, tp


async def likes(store, room: str) -> float:
    return (await store.room_kpis(room, WINDOW)).kpis["likes"].value


async def test_late_events_in_one_slice_are_applied_and_the_worker_goes_on(
        stack, topic_settings, kpi_settings, store):
    """Finding 1: two late events in one partition's slice crash-looped the worker."""
    now = int(time.time() * 1000)
    msgs = [("interactions", b"late-room", like(f"n{i}", "late-room", now - 1000 + i))
            for i in range(50)]
    msgs += [("interactions", b"late-room", like("l1", "late-room", now - 600_000, 3)),
             ("interactions", b"late-room", like("l2", "late-room", now - 480_000, 5))]
    await workload.produce(stack.kafka, topic_settings, msgs)
    engine = make_engine(stack, topic_settings, kpi_settings, store)
    async with running(engine):
        await wait_for(lambda: consumed(engine) >= len(msgs), what="all consumed")
        assert await likes(store, "late-room") == 50 + 3 + 5  # late data counts
        assert counter(engine, "roompulse_worker_late_events_total") == 2
    accounted(engine)


async def test_one_skewed_clock_moves_neither_other_rooms_nor_the_stream_clock(
        stack, topic_settings, kpi_settings, store):
    """Finding 2: one valid event minutes ahead dead-lettered every later event as late and
    jumped the stream clock, so rolling windows read ~0."""
    now = int(time.time() * 1000)
    rooms = [f"skew-{i}" for i in range(5)]
    msgs = [("interactions", r.encode(), like(f"{r}-a{i}", r, now - 60_000 + i * 100))
            for i in range(20) for r in rooms]
    msgs.append(("interactions", b"skew-0", like("ahead", "skew-0", now + 270_000)))
    msgs += [("interactions", r.encode(), like(f"{r}-b{i}", r, now - 30_000 + i * 100))
             for i in range(20) for r in rooms]
    await workload.produce(stack.kafka, topic_settings, msgs)
    engine = make_engine(stack, topic_settings, kpi_settings, store)
    async with running(engine):
        await wait_for(lambda: consumed(engine) >= len(msgs), what="all consumed")
        clock = await store.stream_clock_ms()
        assert clock < now + 60_000, "one event moved the stream clock"
        for r in rooms[1:]:
            snap = await store.room_kpis(r, "5m")
            assert snap.kpis["likes"].value == 40, r
    letters = await read_dead_letters(stack, topic_settings.deadletter, 1, timeout=2)
    assert letters == []  # nothing after the skewed event was dead-lettered
    accounted(engine)


async def test_ids_with_braces_never_share_a_key_and_never_stall(
        stack, topic_settings, kpi_settings, store):
    """Finding 4: room `coll-a` clicking product `z}:state` and room `coll-a}:ph:f:<b>:ck:z`
    mapped to one key -> WRONGTYPE inside the apply -> retried forever, counters re-added."""
    now = int(time.time() * 1000)
    bucket = now - now % (kpi_settings.bucket_s * 1000)
    evil_room = f"coll-a}}:ph:f:{bucket}:ck:z"
    msgs = [("products", b"coll-a", click("c1", "coll-a", now, "z}:state")),
            ("products", b"coll-a", click("c2", "coll-a", now, "ok:product")),
            ("interactions", evil_room.encode(), like("e1", evil_room, now)),
            ("interactions", b"coll-a", like("e2", "coll-a", now)),
            ("interactions", b"x", like("e3", "room ok\n", now)),
            ("interactions", b"x", like("e4", "x" * 10_000, now)),
            ("interactions", b"x", like("e5", "直播间 😀", now))]
    await workload.produce(stack.kafka, topic_settings, msgs)
    engine = make_engine(stack, topic_settings, kpi_settings, store)
    async with running(engine):
        await wait_for(lambda: consumed(engine) >= len(msgs), what="all consumed")
        snap = await store.room_kpis("coll-a", WINDOW)
        assert snap.kpis["product_clicks"].value == 1  # `z}:state` refused, `ok:product` kept
        assert snap.kpis["likes"].value == 1
        assert await likes(store, "直播间 😀") == 1
    letters = await read_dead_letters(stack, topic_settings.deadletter, 4)
    assert sorted(d["reason"] for d in letters) == ["invalid"] * 4
    assert sorted(d["detail"].split(":")[0] for d in letters) == \
        ["product_id", "room_id", "room_id", "room_id"]
    accounted(engine)


async def test_a_key_of_the_wrong_type_refuses_one_batch_and_writes_nothing_of_it(
        stack, topic_settings, kpi_settings, store):
    """A script error must not half-apply a batch, and must not be retried as an outage."""
    client = redis_client(stack.redis)
    try:
        await client.set(store.keys.state("squatted"), "not a hash")
        now = int(time.time() * 1000)
        first = [("interactions", b"squatted", like("s1", "squatted", now)),
                 ("interactions", b"squatted", like("s2", "squatted", now))]
        await workload.produce(stack.kafka, topic_settings, first)
        engine = make_engine(stack, topic_settings, kpi_settings, store)
        async with running(engine):
            await wait_for(lambda: consumed(engine) >= 2, what="first consumed")
            assert counter(engine, "roompulse_worker_apply_refused_total") >= 1
            await client.delete(store.keys.state("squatted"))
            later = [("interactions", b"squatted", like("s3", "squatted", now + 1))]
            await workload.produce(stack.kafka, topic_settings, later)
            await wait_for(lambda: consumed(engine) >= 3, what="later consumed")
            await wait_for(lambda: likes(store, "squatted"), what="later applied")
            assert await likes(store, "squatted") == 1  # nothing of the refused batch landed
        letters = await read_dead_letters(stack, topic_settings.deadletter, 2)
        assert [d["reason"] for d in letters] == ["internal", "internal"]
        accounted(engine)
    finally:
        await client.aclose()


async def test_redis_losing_its_state_is_detected_and_rebuilt_exactly(
        stack, topic_settings, kpi_settings, store):
    """Finding 6: Redis restarted without persistence -> offsets gone, the running worker
    carried on from memory and 292 of 387 values were wrong, unnoticed."""
    now = int(time.time() * 1000)
    w = workload.build(3, 30, now - 120_000, dup_every=7, bad_every=10)
    await workload.produce(stack.kafka, topic_settings, w.messages)
    engine = make_engine(stack, topic_settings, kpi_settings, store)
    client = redis_client(stack.redis)
    try:
        async with running(engine):
            await wait_for(lambda: consumed(engine) >= len(w.messages), what="first pass")
            # What a restart without persistence leaves: none of our keys.
            keys = [k async for k in client.scan_iter(match=f"{kpi_settings.key_prefix}:*")]
            await client.delete(*keys)
            more = workload.build(3, 10, now - 30_000, tag="m")
            await workload.produce(stack.kafka, topic_settings, more.messages)
            await wait_for(lambda: counter(engine, "roompulse_worker_state_lost_total") >= 1,
                           what="loss detected")
            total = len(w.messages) + len(more.messages)
            await wait_for(lambda: _offsets_sum(store, engine.group, total), 20, "rebuilt")
            for load in (w, more):  # before the loss (rebuilt from the log) and after it
                for room in load.rooms:
                    snap = await store.room_kpis(room, WINDOW)
                    got = {k: snap.kpis[k].value for k in load.expected[room]}
                    assert got == dict(load.expected[room]), room
            assert counter(engine, "roompulse_worker_state_lost_total") == 1  # logged once
    finally:
        await client.aclose()


async def _offsets_sum(store, group: str, n: int) -> bool:
    return sum((await store.load_offsets(group)).values()) >= n


def _enter(eid: str, ts: int, user: str, region: str) -> bytes:
    return orjson.dumps({"type": "enter", "event_id": eid, "room_id": "aud", "ts": ts,
                         "user_id": user, "region": region})


def _liked(eid: str, ts: int, user: str, room: str = "aud") -> bytes:
    return orjson.dumps({"type": "like", "event_id": eid, "room_id": room, "ts": ts,
                         "user_id": user, "count": 1})


@pytest.mark.parametrize("squat", ["map", "minute"])
async def test_a_squatted_audience_key_costs_one_room_its_attribution_not_the_pipeline(
        stack, topic_settings, squat):
    """With live audience attribution on, a key of the wrong type under our prefix:
    - the viewer map: that room's events go unattributed (counted), its KPIs and every other
      room's attribution are applied;
    - a minute's counters: the apply refuses the batch, which is dead-lettered; the worker
      drops its viewer maps and re-reads what followed.
    Either way, once the key is gone, attribution goes on exactly."""
    settings = KpiSettings(key_prefix=f"k{uuid.uuid4().hex[:10]}", audience=True)
    client = redis_client(stack.redis)
    store = RedisKpiStore(client, settings)
    now = int(time.time() * 1000)
    minute = now - now % 60_000
    # no broadcast_start: the maps of broadcast start 0
    squatted = store.keys.audience_users("aud", 0) if squat == "map" else \
        store.keys.audience_minute("aud", minute)
    try:
        await client.set(squatted, "not a hash")
        first = [("views", b"aud", _enter("a1", minute, "u1", "广东")),
                 ("interactions", b"aud", _liked("a2", minute + 1, "u1")),
                 ("interactions", b"other", _liked("o1", minute + 1, "x", room="other"))]
        await workload.produce(stack.kafka, topic_settings, first)
        engine = make_engine(stack, topic_settings, settings, store)
        async with running(engine):
            await wait_for(lambda: consumed(engine) >= 3, what="first consumed")
            if squat == "map":
                await wait_for(lambda: counter(engine, "roompulse_audience_failures_total"),
                               what="the unreadable map counted")
            else:
                await wait_for(lambda: counter(engine, "roompulse_worker_apply_refused_total"),
                               what="the batch refused")
            await client.delete(squatted)
            later = [("views", b"aud", _enter("a3", minute + 2, "u2", "浙江")),
                     ("interactions", b"aud", _liked("a4", minute + 3, "u2"))]
            await workload.produce(stack.kafka, topic_settings, later)
            await wait_for(lambda: consumed(engine) >= 5, what="later consumed")

            async def attributed() -> bool:
                return "浙江" in (await read_minute(store, "aud", minute, 0)).get("r", {})

            await wait_for(attributed, what="later attributed")
            # u1's entry was not attributed: u1 is nowhere; u2 is counted once
            row = await read_minute(store, "aud", minute, 0)
            assert row["r"] == {"浙江": {"uv": 1, "en": 1, "iu": 1}}
            if squat == "map":  # nothing was refused: the KPIs have every like
                await wait_for(lambda: likes(store, "aud"), what="likes applied")
                assert await likes(store, "aud") == 2
                assert counter(engine, "roompulse_worker_apply_refused_total") == 0
                # the other room of the same batch was attributed (its viewer waits for an entry)
                (pending,) = await store.read_hashes([store.keys.audience_pending("other", 0)])
                assert pending == {"f:x": "1"}
        if squat == "minute":
            letters = await read_dead_letters(stack, topic_settings.deadletter, 1)
            assert {d["reason"] for d in letters} == {"internal"}
        accounted(engine)
    finally:
        await client.aclose()
