"""The `history` rule kind in the worker's alert runtime: live KPIs in a real Redis (one node and a
Cluster), past broadcasts in a real history store (SQLite and PostgreSQL) written from
recordings as the history writer reads them; and in a `roompulse worker` process."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import orjson
import pytest
from prometheus_client import CollectorRegistry

from alerts.model import Alert
from schemas.decode import decode
from schemas.events import MAX_TS_MS
from streams.alerting.install import build_runtime
from streams.history.baselines import HistoryBaselineReader
from streams.history.lookup import save_data
from streams.history.settings import HistorySettings
from streams.history.store import HistoryStore
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_cluster import kpi_store
from streams.produce import EventProducer
from streams.report.recording import collect
from streams.settings import TopicSettings
from streams.simulator import SimConfig, record
from streams.simulator.generate import Simulation
from tests.streams.worker.procs import WorkerProc, new_group, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
START = 1_767_240_000_000  # a whole minute
DAY = 86_400_000
MIN = 60_000
RULES = """
rules:
  - id: entries-vs-history
    kind: history
    kpi: entries
    window: 5m
    direction: decrease
    by: 0.3
    last: 5
    min_broadcasts: 3
    action: {zh-CN: 检查投流, en: check the traffic}
"""
# Past broadcasts of each room (exposures a minute, one per day before the live one): room-1's
# drew three times the traffic it draws live, room-2's the same, room-3 has only two.
PAST = {"room-1": [240, 240, 240], "room-2": [80, 80, 80], "room-3": [240, 240]}


def config(start_ms: int, seed: int, exposures: float) -> SimConfig:
    return SimConfig(start_ms=start_ms, rooms=3, seed=seed, duration_min=30,
                     exposures_per_min=exposures)


@pytest.fixture(scope="module")
def past_broadcasts(tmp_path_factory):
    """room -> [{"summary", "minutes"}], each collected from its recording as history is."""
    out: dict[str, list[dict]] = {}
    for room, traffic in PAST.items():
        for day, exposures in enumerate(traffic, start=1):
            path = tmp_path_factory.mktemp("past") / f"{room}-{day}.jsonl"
            record(config(START - day * DAY, 100 + day, exposures), path)
            got = asyncio.run(collect(path, room))
            out.setdefault(room, []).append({"summary": got.summary, "minutes": got.minutes})
    return out


async def test_history_rule_fires_on_a_broadcast_trailing_its_history(
        history, redis_client, past_broadcasts, tmp_path):
    for broadcasts in past_broadcasts.values():
        for data in broadcasts:
            assert data["summary"]["end_ms"] is not None and len(data["minutes"]) == 30
            save_data(history, data)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    p = f"t{uuid.uuid4().hex[:8]}"
    store = kpi_store(redis_client, KpiSettings(key_prefix=p))
    sent: list[Alert] = []

    async def send(topic, key, value):
        sent.append(Alert.model_validate(orjson.loads(value)))

    baselines = HistoryBaselineReader(store=history)
    rt = build_runtime(store, redis_client, registry=CollectorRegistry(), send=send,
                       topics=TopicSettings(prefix="x"), key_prefix=p, rules_path=str(rules),
                       history=baselines)
    live = Simulation(config(START, 7, 80))
    folder, step, next_at, n = BatchFolder(store.settings), 10_000, START + 10_000, 0
    try:
        for msg in live.messages():  # the live broadcast, 10 s of events then an evaluation
            ev = decode(msg.value, now_ms=MAX_TS_MS)
            if ev.ts >= START + 20 * MIN:
                break
            while ev.ts >= next_at:
                n += 1
                await store.apply(folder.take(), {("t", 0): n}, "g", next_at)
                await rt.tick()
                next_at += step
            folder.add(ev)
        firing = [a for a in sent if a.state == "firing"]
        assert {a.room_id for a in firing} == {"room-1"}, [a.summary["en"] for a in sent]
        first = firing[0]
        # no series before the live 5m window lies inside the broadcast (minute 5), then at once
        assert START + 5 * MIN <= first.starts_at <= START + 5 * MIN + 10_000
        assert first.rule == "entries-vs-history" and first.evidence.kpi == "entries"
        assert first.evidence.value < 0.5 * first.evidence.baseline
        assert "the median of the last 3 broadcasts at this minute" in first.summary["en"]
        assert all(a.state == "firing" for a in sent)  # it kept firing, never resolved

        # What the rule read, through the runtime's own reader, at minute 19: room-1's history
        # is three times its live traffic, room-2's matches it within the rule's 30%, and
        # room-3 has two broadcasts, under min_broadcasts: no series, nothing raised.
        live_now = {}
        for room in PAST:
            snap = await store.room_kpis(room, "5m", now_ms=START + 20 * MIN - 1)
            live_now[room] = snap.kpis["entries"].value
        past = {room: await rt.reader.same_minute(room, "entries", "5m", 19, 5)
                for room in PAST}
        assert [len(past[r]) for r in PAST] == [3, 3, 2]
        assert live_now["room-1"] < 0.5 * min(past["room-1"])
        for v in past["room-2"]:
            assert abs(live_now["room-2"] / v - 1) < 0.3, (live_now, past)
        assert live_now["room-3"] < 0.5 * min(past["room-3"])  # would fire with a third one
        assert {s.room_id for s in (rt.evaluator.series or {}).values()} == {"room-1"}
    finally:
        await baselines.close()


async def test_the_worker_runs_history_rules(stack, topic_settings, tmp_path):
    """`roompulse worker` with a history rule: a live broadcast 12 minutes in, with a third of
    the traffic its three earlier broadcasts in ROOMPULSE_HISTORY_DIR had, raises it."""
    now = int(time.time() * 1000)
    start = now - now % MIN - 12 * MIN
    history = HistoryStore.open(HistorySettings(dir=tmp_path))
    try:
        for day in (1, 2, 3):
            path = tmp_path / f"past-{day}.jsonl"
            record(SimConfig(start_ms=start - day * DAY, rooms=1, seed=100 + day,
                             duration_min=30, exposures_per_min=240), path)
            got = await collect(path, "room-1")
            save_data(history, {"summary": got.summary, "minutes": got.minutes})
    finally:
        history.close()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    env = worker_env(stack, topic_settings, f"k{uuid.uuid4().hex[:10]}", new_group(),
                     ROOMPULSE_HISTORY_DIR=str(tmp_path), ROOMPULSE_ALERTS_RULES=str(rules))
    proc = WorkerProc(env)
    try:
        await proc.wait_ready()
        live = SimConfig(start_ms=start, rooms=1, seed=7, duration_min=30, exposures_per_min=80)
        async with EventProducer(stack.kafka, topic_settings) as producer:
            for msg in Simulation(live).messages():
                if msg.ts >= now:  # the broadcast so far: it is still live
                    break
                await producer.send_raw(producer.topics.name(msg.kind), msg.key, msg.value)
            await producer.flush()
        firing = 'rule="entries-vs-history",severity="warning",state="firing"} 1.0'
        deadline = time.monotonic() + 60
        text = ""
        async with aiohttp.ClientSession(proc.url) as http:
            while time.monotonic() < deadline and firing not in text:
                async with http.get("/metrics") as r:
                    text = await r.text()
                await asyncio.sleep(0.5)
        assert firing in text, proc.output() + "\n".join(
            line for line in text.splitlines() if line.startswith("roompulse_alerts"))
    finally:
        proc.stop()
