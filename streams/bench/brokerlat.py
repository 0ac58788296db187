"""Is the broker the cause of the latency after 10M events? The bench's read path, broker only.

`python -m streams.bench.brokerlat --prefill 0,1000000,10000000 [--rate 50000] [--seconds 10]`

For each prefill size, on a broker of its own (a fresh embedded Tansu each time, so one case's
log does not weigh on the next; with ROOMPULSE_KAFKA_BOOTSTRAP set, fresh topics on that
broker instead): produce that many simulator messages, read them all with the raw reference's
consumer (`streams.bench.reference`: aiokafka `getmany`, the worker's fetch sizes, no group),
then offer the latency phase's load (`streams.bench.latency.offer`: the bench's mix at `--rate`
events/s, a marker every 50 ms) while the same consumer keeps reading, and time each marker
from its send to the consumer's `getmany` returning it. No worker, no Redis, no API: what is
left is the producer, the broker and one consumer. The broker's CPU share over the live phase
and its memory come with each case. One JSON object per case on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid

import orjson
from aiokafka import TopicPartition

from streams.bench.latency import MARKER_ROOM, offer
from streams.bench.measure import cpu_seconds, percentile, rss_mb, say
from streams.bench.reference import at_end, consumer_for
from streams.bench.run import BenchConfig, produce_sim, simulation
from streams.settings import KafkaSettings, TopicSettings
from streams.stack import Stack, start_stack
from streams.topics import create_topics
from streams.worker.config import WorkerSettings

_MARKER_KEY = MARKER_ROOM.encode()


async def measure(stack: Stack, prefill: int, rate: float, seconds: float,
                  partitions: int) -> dict:
    topics = TopicSettings(prefix=f"blat{uuid.uuid4().hex[:8]}", partitions=partitions)
    await create_topics(stack.kafka, topics)
    pid = stack.pids()[0] if stack.embedded_kafka else None
    out: dict = {"prefill": prefill, "rate": rate, "seconds": seconds}
    if prefill:
        t0 = time.perf_counter()
        cfg = BenchConfig(events=prefill)
        _, n = await produce_sim(stack, topics, simulation(cfg, int(time.time() * 1000)),
                                 prefill, "prefill")
        out["prefill_produce_s"] = round(time.perf_counter() - t0, 1)
    consumer = consumer_for(stack.kafka, WorkerSettings())
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics.inputs for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out.update(await _catch_up(consumer, tps, prefill))
        out.update(await _live(stack, topics, consumer, pid, rate, seconds))
    finally:
        await consumer.stop()
    if pid is not None:
        out["broker_rss_mb"] = round(rss_mb(pid), 1)
    return out


async def _catch_up(consumer, tps: list[TopicPartition], expect: int) -> dict:
    """Read the prefilled log to its end: the same read path on a log filled in advance."""
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while n < expect:
        batch = await consumer.getmany(timeout_ms=500)
        n += sum(len(r) for r in batch.values())
        if not batch and await at_end(consumer, tps):
            break
    secs = time.perf_counter() - t0
    return {"catch_up_events": n, "catch_up_events_per_s": round(n / secs) if n else None,
            "catch_up_cpu_s_per_million": round((time.process_time() - c0) / n * 1e6, 2)
            if n else None}


async def _live(stack: Stack, topics: TopicSettings, consumer, pid: int | None, rate: float,
                seconds: float) -> dict:
    sent_at: dict[int, float] = {}
    seen_at: dict[int, float] = {}
    done = asyncio.Event()

    async def read() -> None:
        while not (done.is_set() and len(seen_at) >= len(sent_at)):
            batch = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batch.values():
                for r in records:
                    if r.key == _MARKER_KEY:
                        seen_at.setdefault(int(orjson.loads(r.value)["event_id"][7:]), now)

    reader = asyncio.create_task(read())
    cpu0, t0 = (cpu_seconds(pid) if pid else 0.0), time.perf_counter()
    offered = await offer(stack.kafka, topics, rate, seconds, sent_at)
    share = (cpu_seconds(pid) - cpu0) / (time.perf_counter() - t0) if pid else None
    done.set()
    try:
        await asyncio.wait_for(reader, 30)
    except TimeoutError:
        reader.cancel()
        say(f"broker latency: only {len(seen_at)}/{len(sent_at)} markers were read back")
    lat = [(seen_at[k] - sent_at[k]) * 1000 for k in sent_at if k in seen_at]
    return {"offered_events_per_s": round(offered), "markers": len(sent_at),
            "markers_read": len(lat), "p50_ms": _r(percentile(lat, 50)),
            "p99_ms": _r(percentile(lat, 99)), "max_ms": _r(max(lat, default=None)),
            "broker_cpu_share": None if share is None else round(share, 3)}


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prefill", default="0,1000000,10000000",
                    help="comma-separated messages to fill the log with before each case")
    ap.add_argument("--rate", type=float, default=50_000, help="offered events/s (live phase)")
    ap.add_argument("--seconds", type=float, default=10.0, help="live phase length")
    ap.add_argument("--partitions", type=int, default=8)
    args = ap.parse_args(argv)
    for prefill in (int(x) for x in args.prefill.split(",")):
        say(f"broker latency: prefill {prefill:,}, {args.rate:,.0f} events/s for {args.seconds}s")
        with start_stack(KafkaSettings(), need_redis=False) as stack:
            result = asyncio.run(measure(stack, prefill, args.rate, args.seconds,
                                         args.partitions))
        print(orjson.dumps(result).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
