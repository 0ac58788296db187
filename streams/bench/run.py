"""`roompulse bench`: the batched worker vs a per-event Faust baseline on the simulator's mix."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient

from streams.bench.latency import run_latency
from streams.bench.machine import machine_info, ratio, reference_figures
from streams.bench.measure import cpu_seconds, sample_rss, say, watch
from streams.bench.procs import Workers, child_env, run_reference, spawn, stop
from streams.bench.redismem import room_memory
from streams.bench.reference import rates
from streams.kpi.config import KpiSettings
from streams.kpi.store_cluster import kpi_store
from streams.kpi.store_redis import RedisKpiStore
from streams.produce import EventProducer
from streams.settings import TopicSettings
from streams.simulator.config import EVENTS_PER_EXPOSURE, SimConfig
from streams.simulator.generate import Simulation
from streams.stack import Stack
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
    workers: int = 1  # worker processes in one consumer group
    reference: bool = True  # run the raw reference loop over the same messages
    redis_aof: bool = True  # what the embedded valkey was started with (reported only)
    session_timeout_ms: int | None = None  # the workers' group session (None: the stack's)


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


async def applied(store: RedisKpiStore, *groups: str) -> int:
    """The groups' committed offsets summed, from the offsets hash itself: on a Redis Cluster
    it also holds a batch's intents ("i:<topic>:<partition>" -> "from,to") between the apply's
    BEGIN and COMMIT steps, which store.load_offsets does not skip."""
    total = 0
    for g in groups:
        offsets = await store.redis.hgetall(store.keys.offsets(g))
        total += sum(int(v) for f, v in offsets.items()
                     if not (f.decode() if isinstance(f, bytes) else f).startswith("i:"))
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


async def run_bench(cfg: BenchConfig, stack: Stack,
                    servers: dict[str, int] | None = None) -> dict:
    """One bench run; `servers` (name -> pid) whose CPU is measured alongside the workers'
    defaults to the stack's embedded broker and valkey."""
    tag = uuid.uuid4().hex[:6]
    topics = TopicSettings(prefix=f"bench{tag}", partitions=cfg.partitions)
    btopics = TopicSettings(prefix=f"bench{tag}b", partitions=cfg.partitions)
    kpi, bkpi = KpiSettings(key_prefix=f"bench{tag}"), KpiSettings(key_prefix=f"bench{tag}b")
    await create_topics(stack.kafka, topics)
    await create_topics(stack.kafka, btopics)
    result: dict = {"machine": machine_info(), "workers": cfg.workers,
                    "redis_aof": cfg.redis_aof if stack.embedded_redis else None}
    machine = result["machine"]
    if (machine["load_avg_1m"] or 0) > (machine["cores_usable"] or 1):
        say(f"load average {machine['load_avg_1m']} on {machine['cores_usable']} cores: other "
            "work shares this machine; compare reference_cpu_ratio, not only the wall rates")
    now_ms = int(time.time() * 1000)
    truth, n = await produce_sim(stack, topics, simulation(cfg, now_ms), cfg.events, "worker")
    result.update(events=n, rooms=cfg.rooms, partitions=cfg.partitions)
    group = f"bench{tag}"
    env = child_env(stack, topics, kpi.key_prefix, group)
    if cfg.session_timeout_ms:
        # Tansu holds a group join open for half the session timeout: long enough, every
        # worker joins the first generation instead of rebalancing one another in turn.
        env["ROOMPULSE_KAFKA_SESSION_TIMEOUT_MS"] = str(cfg.session_timeout_ms)
    ref: dict = {}
    if cfg.reference:
        # Before the worker, on the same topics, while nothing else runs: the machine's and
        # the broker's ceiling for one Python process that only reads, parses and counts.
        ref = await run_reference(env, topics.inputs, cfg.partitions, n, cfg.timeout_s)
        say(f"reference: {ref.get('events')} events in {ref.get('seconds')}s")
    client = redis_client(stack.redis)
    store = kpi_store(client, kpi)
    groups = (group, f"{group}-control")
    servers = embedded_servers(stack) if servers is None else servers
    workers = Workers(cfg.workers, env)
    try:
        say(f"{cfg.workers} worker(s) started (pids {workers.pids}); waiting for {n} events")
        rss: list[float] = []
        sampler = asyncio.create_task(sample_rss(workers.pids[0], rss))
        try:
            admin = AIOKafkaAdminClient(**stack.kafka.client_kwargs())
            await admin.start()
            try:
                async def progress_all() -> tuple[int, bool]:
                    # The group check first: the count must be read just before the clock.
                    everyone = await workers.all_joined(admin, group)
                    done, first = await progress(store, *groups)
                    return done, first and everyone

                run = await watch(progress_all, n, workers.cpu, cfg.timeout_s, "worker",
                                  servers=servers, waits=workers.waits)
            finally:
                await admin.close()
        finally:
            sampler.cancel()
        result.update(rss_figures(rss))
        wrong = await check(store, truth)
        # Right after the throughput run: the rooms hold exactly the workload's events.
        result.update(await room_memory(client, store.keys, sorted(truth)))
        say(f"redis: {result['redis_bytes_per_room']} bytes in "
            f"{result['redis_keys_per_room']} keys per room")
        if run.n_last <= run.n_first:
            say("the clock never started: the work was done before every worker had applied "
                "a batch (use more --events)")
        result.update(events_per_s=_round(run.events_per_s),
                      # Events inside the measured span (after every worker's first apply).
                      events_measured=run.n_last - run.n_first,
                      # The clock of the first versions: from the control agent's first apply,
                      # about a second before the KPI loop has joined its group.
                      events_per_s_from_first_apply=_round(run.events_per_s_from_any),
                      # All worker processes together, per event.
                      cpu_s_per_million=_round(run.cpu_s_per_million, 2),
                      # What ONE worker would reach with a core to itself: its own CPU only.
                      worker_ceiling_events_per_s=_round(1e6 / run.cpu_s_per_million
                                                         if run.cpu_s_per_million else None),
                      throughput_server_cpu_s_per_million=run.server_cpu_s_per_million,
                      throughput_server_cpu_share=run.server_cpu_share,
                      correct=not wrong and run.n_last >= n)
        # Below 1.0 per worker while it had work: it waited - for a CPU (the runqueue share,
        # a busy machine) or for the broker / Redis (the rest).
        result.update(throughput_worker_cpu_share=_round(run.cpu_share, 2),
                      throughput_worker_runqueue_share=_round(run.runqueue_share, 2))
        half_rate, half_cpu = run.second_half
        result.update(events_per_s_second_half=_round(half_rate),
                      cpu_s_per_million_second_half=_round(half_cpu, 2))
        ref_rate, ref_cpu = rates(ref) if ref else (None, None)
        result.update(reference_figures(run.events_per_s, run.cpu_s_per_million, ref_rate,
                                        ref_cpu))
        if ref:
            result["reference_events"] = ref.get("events")
            secs = ref.get("seconds") or 0
            result["reference_cpu_share"] = _round((ref.get("cpu_seconds") or 0) / secs, 2) \
                if secs > 0 else None
            result["reference_runqueue_share"] = _round(
                (ref.get("runqueue_seconds") or 0) / secs, 2) if secs > 0 else None
        if wrong:
            say("KPIs differ from the truth: " + "; ".join(wrong[:5]))
        say(f"worker: {result['events_per_s']} events/s; latency phase at {cfg.rate:.0f}/s")
        cpu0, t0 = workers.cpu(), time.perf_counter()
        s0 = {name: cpu_seconds(pid) for name, pid in servers.items()}
        result.update(await run_latency(stack.kafka, topics, workers.api, cfg.rate,
                                        cfg.latency_s))
        # Near 1.0 (per worker) means the workers were CPU-bound while offered --rate.
        result["latency_worker_cpu_share"] = round(
            (workers.cpu() - cpu0) / (time.perf_counter() - t0), 2)
        # The embedded broker's and valkey's share in the same phase: where the wait went.
        result["latency_server_cpu_share"] = {
            name: round((cpu_seconds(pid) - s0[name]) / (time.perf_counter() - t0), 2)
            for name, pid in servers.items()}
        result["peak_rss_mb"] = round(workers.peak_rss_mb(), 1)
    finally:
        workers.stop()
    try:
        if cfg.baseline_events > 0:
            result.update(await run_baseline(cfg, stack, btopics, bkpi, client, now_ms, tag,
                                             run.events_per_s))
    finally:
        await client.aclose()
    return result


def _round(x: float | None, digits: int | None = None) -> float | None:
    """None for a figure that was not measured (NaN, infinite or missing), else rounded."""
    if x is None or not math.isfinite(x):
        return None
    return round(x, digits) if digits is not None else round(x)


def rss_figures(rss: list[float]) -> dict:
    """Memory over the throughput run: after warm-up (first fifth) vs the end. Flat = bounded."""
    if len(rss) < 5:
        return {}
    warm = rss[len(rss) // 5]
    return {"rss_mb_after_warmup": round(warm, 1), "rss_mb_at_end": round(rss[-1], 1),
            "rss_growth_mb": round(rss[-1] - warm, 1),
            # The curve: RSS at the end of each fifth of the throughput run.
            "rss_mb_by_fifth": [round(rss[min(len(rss) - 1, len(rss) * i // 5)], 1)
                                for i in range(1, 6)]}


async def run_baseline(cfg: BenchConfig, stack: Stack, btopics: TopicSettings,
                       bkpi: KpiSettings, client, now_ms: int, tag: str,
                       events_per_s: float) -> dict:
    bstore = kpi_store(client, bkpi)
    _, bn = await produce_sim(stack, btopics, simulation(cfg, now_ms), cfg.baseline_events,
                              "baseline")
    baseline = spawn(["-m", "streams.bench.baseline"],
                     child_env(stack, btopics, bkpi.key_prefix, f"base{tag}"))
    try:
        brun = await watch(lambda: progress(bstore, "baseline"), bn,
                           baseline.pid, cfg.timeout_s, "baseline")
    finally:
        stop(baseline)
    return {"baseline_events_per_s": round(brun.events_per_s), "baseline_events": brun.n_last,
            "ratio": ratio(events_per_s, brun.events_per_s, 1)}


def embedded_servers(stack: Stack) -> dict[str, int]:
    """{"tansu": pid, "valkey": pid} for the servers this stack started (none when configured)."""
    names = (["tansu"] if stack.embedded_kafka else []) + (["valkey"] if stack.embedded_redis
                                                            else [])
    return dict(zip(names, stack.pids(), strict=True))


def run(cfg: BenchConfig, stack: Stack) -> dict:
    return asyncio.run(run_bench(cfg, stack))
