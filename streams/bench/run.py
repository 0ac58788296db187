"""`roompulse bench`: the batched worker vs a per-event Faust baseline on the simulator's mix."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

from streams.bench.latency import run_latency
from streams.bench.measure import cpu_seconds, peak_rss_mb, sample_rss, say, watch
from streams.kpi.config import KpiSettings
from streams.kpi.store_redis import RedisKpiStore
from streams.produce import EventProducer
from streams.settings import TopicSettings
from streams.simulator.config import EVENTS_PER_EXPOSURE, SimConfig
from streams.simulator.generate import Simulation
from streams.stack import Stack, free_port
from streams.topics import create_topics
from streams.worker.app import redis_client

DURATION_MIN = 30  # event time spans the last 30 min: inside the fine-bucket horizon
CHECK_WINDOW = "60m"
# KPI -> (event type, how much one event adds): what `correct` compares with the truth.
CHECKED = {"exposures": "room_exposure", "entries": "enter", "comments": "comment",
           "product_exposures": "product_exposure", "product_clicks": "product_click",
           "cart_adds": "cart_add", "shares": "share", "new_followers": "follow"}


@dataclass(frozen=True)
class BenchConfig:
    events: int = 1_000_000
    rooms: int = 50
    rate: float = 50_000
    latency_s: float = 5.0
    baseline_events: int = 30_000
    partitions: int = 8
    seed: int = 1
    timeout_s: float = 600


def simulation(cfg: BenchConfig, now_ms: int) -> Simulation:
    per_min = cfg.events / (DURATION_MIN * cfg.rooms * EVENTS_PER_EXPOSURE)
    return Simulation(SimConfig(start_ms=now_ms - DURATION_MIN * 60_000, rooms=cfg.rooms,
                                seed=cfg.seed, duration_min=DURATION_MIN,
                                exposures_per_min=max(1.0, per_min * 1.05)))


async def produce_sim(stack: Stack, topics: TopicSettings, sim: Simulation, limit: int,
                      label: str) -> tuple[dict[str, Counter], int]:
    """Produce the first `limit` simulator messages; return the exact expected KPIs."""
    truth: dict[str, Counter] = defaultdict(Counter)
    n = 0
    t0 = time.perf_counter()
    async with EventProducer(stack.kafka, topics) as producer:
        for msg in sim.messages():
            if n >= limit:
                break
            await producer.send_raw(topics.name(msg.kind), msg.key, msg.value)
            ev = msg.event
            if ev is not None and msg.expect is None and not msg.duplicate:
                room = truth[ev["room_id"]]
                room[ev["type"]] += 1
                if ev["type"] == "like":
                    room["likes"] += ev.get("count", 1)
            n += 1
            if n % 200_000 == 0:
                say(f"{label}: produced {n}/{limit}")
    say(f"{label}: produced {n} messages in {time.perf_counter() - t0:.1f}s")
    return truth, n


def child_env(stack: Stack, topics: TopicSettings, key_prefix: str, group: str) -> dict:
    k = stack.kafka
    return {**os.environ, "ROOMPULSE_KAFKA_BOOTSTRAP": stack.bootstrap,
            "ROOMPULSE_REDIS_URL": stack.redis_url,
            "ROOMPULSE_KAFKA_SESSION_TIMEOUT_MS": str(k.session_timeout_ms),
            "ROOMPULSE_KAFKA_HEARTBEAT_INTERVAL_MS": str(k.heartbeat_interval_ms),
            "ROOMPULSE_KAFKA_REBALANCE_TIMEOUT_MS": str(k.rebalance_timeout_ms),
            "ROOMPULSE_TOPICS_PREFIX": topics.prefix,
            "ROOMPULSE_TOPICS_PARTITIONS": str(topics.partitions),
            "ROOMPULSE_KPI_KEY_PREFIX": key_prefix, "ROOMPULSE_WORKER_GROUP_ID": group,
            "ROOMPULSE_WORKER_APP_ID": f"{group}-app"}


def spawn(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def applied(store: RedisKpiStore, *groups: str) -> int:
    total = 0
    for g in groups:
        total += sum((await store.load_offsets(g)).values())
    return total


async def progress(store: RedisKpiStore, measured: str, *others: str) -> tuple[int, bool]:
    """Events applied by all `measured` + `others` groups, and whether `measured` has begun.

    The worker's control agent (a low-volume Faust agent with its own group) applies its first
    events about a second before the KPI loop has joined its group; the throughput clock must
    not start on those.
    """
    first = await applied(store, measured)
    return first + (await applied(store, *others) if others else 0), first > 0


async def check(store: RedisKpiStore, truth: dict[str, Counter]) -> list[str]:
    """Differences between the KPIs in Redis and the truth (empty = correct)."""
    wrong = []
    for room, counts in sorted(truth.items()):
        kpis = (await store.room_kpis(room, CHECK_WINDOW)).kpis
        want = {k: counts[t] for k, t in CHECKED.items()} | {"likes": counts["likes"]}
        got = {k: int(kpis[k].value or 0) for k in want}
        if got != want:
            wrong.append(f"{room}: {sorted(set(got.items()) ^ set(want.items()))}")
    return wrong


async def run_bench(cfg: BenchConfig, stack: Stack) -> dict:
    tag = uuid.uuid4().hex[:6]
    topics = TopicSettings(prefix=f"bench{tag}", partitions=cfg.partitions)
    btopics = TopicSettings(prefix=f"bench{tag}b", partitions=cfg.partitions)
    kpi, bkpi = KpiSettings(key_prefix=f"bench{tag}"), KpiSettings(key_prefix=f"bench{tag}b")
    await create_topics(stack.kafka, topics)
    await create_topics(stack.kafka, btopics)
    now_ms = int(time.time() * 1000)
    truth, n = await produce_sim(stack, topics, simulation(cfg, now_ms), cfg.events, "worker")
    client = redis_client(stack.redis)
    store = RedisKpiStore(client, kpi)
    group, port = f"bench{tag}", free_port()
    groups = (group, f"{group}-control")
    result: dict = {"events": n, "rooms": cfg.rooms, "partitions": cfg.partitions}
    worker = spawn(["-m", "streams.cli", "worker", "--web-port", str(port), "--loglevel",
                    "warning"], child_env(stack, topics, kpi.key_prefix, group))
    try:
        say(f"worker pid {worker.pid} started; waiting for it to apply {n} events")
        rss: list[float] = []
        sampler = asyncio.create_task(sample_rss(worker.pid, rss))
        try:
            run = await watch(lambda: progress(store, *groups), n, worker.pid,
                              cfg.timeout_s, "worker")
        finally:
            sampler.cancel()
        # Memory over the throughput run: after warm-up (first fifth) vs the end. Flat = bounded.
        if len(rss) >= 5:
            warm = rss[len(rss) // 5]
            result.update(rss_mb_after_warmup=round(warm, 1), rss_mb_at_end=round(rss[-1], 1),
                          rss_growth_mb=round(rss[-1] - warm, 1),
                          # The curve: RSS at the end of each fifth of the throughput run.
                          rss_mb_by_fifth=[round(rss[min(len(rss) - 1, len(rss) * i // 5)], 1)
                                           for i in range(1, 6)])
        wrong = await check(store, truth)
        result.update(events_per_s=round(run.events_per_s),
                      # The clock of the first versions: from the control agent's first apply,
                      # about a second before the KPI loop has joined its group.
                      events_per_s_from_first_apply=round(run.events_per_s_from_any),
                      cpu_s_per_million=round(run.cpu_s_per_million, 2),
                      # What one worker would reach with a core to itself: its own CPU only.
                      worker_ceiling_events_per_s=round(1e6 / run.cpu_s_per_million),
                      correct=not wrong and run.n_last >= n)
        if wrong:
            say("KPIs differ from the truth: " + "; ".join(wrong[:5]))
        say(f"worker: {result['events_per_s']} events/s; latency phase at {cfg.rate:.0f}/s")
        servers = embedded_servers(stack)
        cpu0, t0 = cpu_seconds(worker.pid), time.perf_counter()
        s0 = {name: cpu_seconds(pid) for name, pid in servers.items()}
        result.update(await run_latency(stack.kafka, topics, f"http://127.0.0.1:{port}",
                                        cfg.rate, cfg.latency_s))
        # Near 1.0 means the worker was CPU-bound while offered --rate (its GIL-bound ceiling).
        result["latency_worker_cpu_share"] = round(
            (cpu_seconds(worker.pid) - cpu0) / (time.perf_counter() - t0), 2)
        # The embedded broker's and valkey's share in the same phase: where the wait went.
        result["latency_server_cpu_share"] = {
            name: round((cpu_seconds(pid) - s0[name]) / (time.perf_counter() - t0), 2)
            for name, pid in servers.items()}
        result["peak_rss_mb"] = round(peak_rss_mb(worker.pid), 1)
    finally:
        stop(worker)
    bstore = RedisKpiStore(client, bkpi)
    _, bn = await produce_sim(stack, btopics, simulation(cfg, now_ms), cfg.baseline_events,
                              "baseline")
    baseline = spawn(["-m", "streams.bench.baseline"],
                     child_env(stack, btopics, bkpi.key_prefix, f"base{tag}"))
    try:
        brun = await watch(lambda: progress(bstore, "baseline"), bn,
                           baseline.pid, cfg.timeout_s, "baseline")
    finally:
        stop(baseline)
        await client.aclose()
    result["baseline_events_per_s"] = round(brun.events_per_s)
    result["baseline_events"] = brun.n_last
    result["ratio"] = round(run.events_per_s / brun.events_per_s, 1)
    return result


def embedded_servers(stack: Stack) -> dict[str, int]:
    """{"tansu": pid, "valkey": pid} for the servers this stack started (none when configured)."""
    names = (["tansu"] if stack.embedded_kafka else []) + (["valkey"] if stack.embedded_redis
                                                            else [])
    return dict(zip(names, stack.pids(), strict=True))


def run(cfg: BenchConfig, stack: Stack) -> dict:
    return asyncio.run(run_bench(cfg, stack))
