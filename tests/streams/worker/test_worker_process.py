"""`roompulse worker` as a process: HTTP API, kill -9 and restart, two workers and a rebalance."""

from __future__ import annotations

import time
import uuid

import aiohttp
import orjson
import pytest

from streams.bench import workload
from streams.settings import TopicSettings
from streams.topics import create_topics
from tests.streams.worker.conftest import read_dead_letters, wait_for
from tests.streams.worker.procs import WorkerProc, new_group, worker_env
from tests.streams.worker.test_engine import assert_exact

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def applied(store, group: str) -> int:
    return sum((await store.load_offsets(group)).values())


def control_messages(room: str, now: int) -> list[tuple[str, bytes, bytes]]:
    """broadcast_start and two ad_spends (one sent twice) on the control topic, a stage_change
    on the mixed extra topic, and one invalid control event."""
    key = room.encode()

    def ev(etype: str, n: int, **kw) -> bytes:
        return orjson.dumps({"type": etype, "event_id": f"{room}-c{n}", "room_id": room,
                             "ts": now - 60_000 + n, **kw})

    spend = ev("ad_spend", 2, amount=100.0, audience_package="pkg-a")
    return [("control", key, ev("broadcast_start", 1)), ("control", key, spend),
            ("control", key, spend), ("control", key, ev("ad_spend", 3, amount=50.5,
                                                         audience_package="pkg-b")),
            ("control", key, ev("stage_change", 4, stage="nonsense")),
            ("mixed", key, ev("stage_change", 5, stage="conversion"))]


async def test_http_api_control_agent_health_and_metrics(stack, kpi_settings, store):
    group = new_group()
    topics = TopicSettings(prefix=f"t{uuid.uuid4().hex[:10]}", partitions=4)
    mixed = topics.name("mixed")
    topics = topics.model_copy(update={"extra_inputs": [mixed]})
    await create_topics(stack.kafka, topics)
    now = int(time.time() * 1000)
    w = workload.build(2, 30, now, bad_every=10)
    room = w.rooms[0]
    control = control_messages(room, now)
    await workload.produce(stack.kafka, topics, w.messages + control)
    env = worker_env(stack, topics, kpi_settings.key_prefix, group,
                     ROOMPULSE_TOPICS_EXTRA_INPUTS=orjson.dumps([mixed]).decode())
    proc = WorkerProc(env)
    try:
        await proc.wait_ready()
        # The control topic goes through the KPI loop's one ingest path, under the same group.
        await wait_for(lambda: _done(store, group, len(w.messages) + 1 + 5), 20, "all applied")
        state = await store.room_state(room)
        assert state.broadcast_start_ms == now - 60_000 + 1
        assert state.stage == "conversion"  # from the mixed topic: `type` decides
        assert (await store.room_kpis(room, "30m")).kpis["ad_spend"].value == 150.5
        letters = await read_dead_letters(stack, topics.deadletter, 7)
        assert sorted(d["reason"] for d in letters) == ["invalid"] + ["not_json"] * 6
        # The probe server: its own port and thread, the loop's heartbeat and checks.
        async with aiohttp.ClientSession(proc.probe_url) as probe:
            async with probe.get("/healthz") as r:
                body = await r.json()
                assert r.status == 200 and body["status"] == "ok", body
                assert body["loop_lag_s"] >= 0

            async def probe_ready() -> bool:
                async with probe.get("/readyz") as r:
                    return r.status == 200 and (await r.json())["status"] == "ready"

            await wait_for(probe_ready, 10, "probe port /readyz 200")
        async with aiohttp.ClientSession(proc.url) as http:
            async with http.get("/healthz") as r:
                assert r.status == 200
            async with http.get("/api/rooms") as r:
                assert r.status == 200
                assert sorted(s["room_id"] for s in (await r.json())["rooms"]) == w.rooms
            async with http.get(f"/api/rooms/{room}/kpis", params={"window": "30m"}) as r:
                body = await r.json()
                assert r.status == 200
                assert body["kpis"]["entries"]["value"] == w.expected[room]["entries"]
            async with http.get(f"/api/rooms/{room}/products?window=30m") as r:
                prods = (await r.json())["products"]
                assert [p["product_id"] for p in prods] == ["p-1"]
                assert prods[0]["kpis"]["product_clicks"]["value"] == 30
            async with http.get(f"/api/rooms/{room}/sources?window=30m") as r:
                srcs = (await r.json())["sources"]
                assert [s["source"] for s in srcs] == ["search"]
            async with http.get(f"/api/rooms/{room}/kpis?window=7x") as r:
                assert r.status == 400
            async with http.get("/api/rooms/no-such-room/kpis") as r:
                assert r.status == 404
            async with http.get("/metrics") as r:
                text = await r.text()
        assert r.status == 200
        assert f'roompulse_room_kpi{{kpi="entries",room="{room}",window="5m"}}' in text
        assert 'roompulse_product_kpi{' in text
        assert 'roompulse_worker_dead_letters_total{reason="not_json"} 6.0' in text
        assert "roompulse_worker_consumer_lag{" in text
        assert "roompulse_worker_redis_apply_seconds_bucket" in text
        assert 'roompulse_probe_requests_total{code="200",path="/healthz"} 1.0' in text
    finally:
        proc.stop()


async def _done(store, group: str, n: int) -> bool:
    return await applied(store, group) >= n


async def kill_9_and_restart(stack, topic_settings, store, group: str, **env_extra: str
                             ) -> None:
    """A worker SIGKILLed a quarter of the way in, then a new one: the KPIs are exact."""
    w = workload.build(3, 400, int(time.time() * 1000), dup_every=7, bad_every=50)
    env = worker_env(stack, topic_settings, store.settings.key_prefix, group,
                     ROOMPULSE_WORKER_BATCH_MAX_RECORDS="100", **env_extra)
    await workload.produce(stack.kafka, topic_settings, w.messages)
    first = WorkerProc(env)
    try:
        await first.wait_ready()
        await wait_for(lambda: _done(store, group, len(w.messages) // 4), 30, "some applied")
        first.kill()
        assert await applied(store, group) < len(w.messages), "killed too late to test anything"
    finally:
        first.stop()
    second = WorkerProc(env)
    try:
        await second.wait_ready()
        await wait_for(lambda: _done(store, group, len(w.messages)), 40, "all applied")
    finally:
        second.stop()
    await assert_exact(store, w)


async def two_workers_one_killed(stack, topic_settings, store, group: str, **env_extra: str
                                 ) -> None:
    """Two workers share the partitions; one is SIGKILLed: the other takes over, exactly."""
    w = workload.build(4, 300, int(time.time() * 1000), dup_every=5)
    env = worker_env(stack, topic_settings, store.settings.key_prefix, group,
                     ROOMPULSE_WORKER_BATCH_MAX_RECORDS="50", **env_extra)
    a, b = WorkerProc(env), WorkerProc(env)
    try:
        await a.wait_ready()
        await b.wait_ready()
        await workload.produce(stack.kafka, topic_settings, w.messages)
        await wait_for(lambda: _done(store, group, len(w.messages) // 5), 30, "some applied")
        b.kill()
        await wait_for(lambda: _done(store, group, len(w.messages)), 60, "all applied")
    finally:
        a.stop()
        b.stop()
    await assert_exact(store, w)


async def test_kill_9_and_restart_keeps_kpis_exact(stack, topic_settings, kpi_settings, store):
    await kill_9_and_restart(stack, topic_settings, store, new_group())


async def test_two_workers_split_partitions_and_survive_a_kill(stack, topic_settings,
                                                               kpi_settings, store):
    await two_workers_one_killed(stack, topic_settings, store, new_group())


async def test_800_kb_message_is_dead_lettered_truncated_and_the_stream_goes_on(
        stack, topic_settings, kpi_settings, store):
    """Issue 9 finding 3: on main its dead letter exceeded the producer's max request size and
    the worker stalled for good (again after a restart)."""
    group = new_group()
    now = int(time.time() * 1000)
    before, after = (workload.build(2, 20, now - 2_000, tag=t) for t in ("a", "b"))
    huge = b'{"type":"enter","pad":"' + b"x" * 800_000 + b'"}'
    huge_msg = ("views", before.rooms[0].encode(), huge)
    await workload.produce(stack.kafka, topic_settings, before.messages + [huge_msg]
                           + after.messages)
    env = worker_env(stack, topic_settings, kpi_settings.key_prefix, group,
                     ROOMPULSE_WORKER_DEADLETTER_MAX_BYTES="65536")
    proc = WorkerProc(env)
    total = len(before.messages) + 1 + len(after.messages)
    try:
        await proc.wait_ready()
        await wait_for(lambda: _done(store, group, total), 30, "everything applied")
        async with aiohttp.ClientSession(proc.url) as http, http.get("/metrics") as r:
            text = await r.text()
        assert 'roompulse_worker_dead_letters_total{reason="too_large"} 1.0' in text
    finally:
        proc.stop()
    (letter,) = await read_dead_letters(stack, topic_settings.deadletter, 1)
    assert letter["reason"] == "too_large" and letter["truncated"] is True
    assert letter["original_len"] == len(huge) and huge.startswith(letter["original_prefix"])
    assert 40_000 < len(letter["original_prefix"]) < 65_536
    await assert_exact(store, before)
    await assert_exact(store, after)
