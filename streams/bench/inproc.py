"""The KPI engine alone, in this process (no Faust): events/s, its and the servers' CPU-µs/event.

`python -m streams.bench.inproc [--events 300000] [--batch N]` starts the embedded stack,
produces the bench's simulator mix, runs ONE KpiEngine here and reports, from its first apply
to its last: events/s, this process's CPU-µs per event, and Tansu's and valkey's CPU-µs per
event (so the figures show where the machine's two cores go).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from prometheus_client import CollectorRegistry

from streams.bench.measure import cpu_seconds
from streams.bench.run import BenchConfig, applied, produce_sim, simulation
from streams.kpi.config import KpiSettings
from streams.kpi.store_cluster import kpi_store
from streams.settings import TopicSettings
from streams.stack import Stack, start_stack
from streams.topics import create_topics
from streams.worker.app import redis_client
from streams.worker.config import WorkerSettings
from streams.worker.engine import KpiEngine
from streams.worker.metrics import WorkerMetrics


async def measure(stack: Stack, events: int, batch: int | None = None) -> dict:
    tag = uuid.uuid4().hex[:6]
    topics = TopicSettings(prefix=f"inproc{tag}", partitions=8)
    kpi = KpiSettings(key_prefix=f"inproc{tag}")
    await create_topics(stack.kafka, topics)
    sim = simulation(BenchConfig(events=events), int(time.time() * 1000))
    await produce_sim(stack, topics, sim, events, "inproc")
    client = redis_client(stack.redis)
    store = kpi_store(client, kpi)
    group = f"inproc{tag}"
    inputs = list(topics.inputs)  # the control topic too: one ingest path, as the worker
    worker = WorkerSettings(group_id=group) if batch is None else \
        WorkerSettings(group_id=group, batch_max_records=batch)
    engine = KpiEngine(stack.kafka, inputs, topics.deadletter, worker, kpi, store,
                       WorkerMetrics(CollectorRegistry()))
    await engine.start()
    task = asyncio.create_task(engine.run())
    try:
        while (n0 := await applied(store, group)) == 0:
            await asyncio.sleep(0.01)
        servers = stack.pids()
        t0, c0 = time.perf_counter(), time.process_time()
        s0 = [cpu_seconds(p) for p in servers]
        last, t1, c1, s1, still = n0, t0, c0, s0, 0
        while still < 10:  # done when nothing moved for 0.5 s
            await asyncio.sleep(0.05)
            n = await applied(store, group)
            if n == last:
                still += 1
                continue
            still, last = 0, n
            t1, c1, s1 = time.perf_counter(), time.process_time(), [cpu_seconds(p) for p in servers]
    finally:
        await engine.stop()
        task.cancel()
        await client.aclose()
    done = max(1, last - n0)
    per = [round((b - a) / done * 1e6, 2) for a, b in zip(s0, s1, strict=True)]
    return {"events": done, "events_per_s": round(done / max(t1 - t0, 1e-9)),
            "engine_cpu_us_per_event": round((c1 - c0) / done * 1e6, 2),
            "server_cpu_us_per_event": per}  # in the order of stack.pids(): Tansu, valkey


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--batch", type=int, default=None,
                    help="batch_max_records (default: WorkerSettings' default)")
    args = ap.parse_args()
    with start_stack() as stack:
        print(asyncio.run(measure(stack, args.events, args.batch)))


if __name__ == "__main__":
    main()
