"""The raw reference of `roompulse bench`: the leanest loop over the same messages as the worker.

`python -m streams.bench.reference --topics a,b --partitions 8 --expect N` (Kafka settings from
the ROOMPULSE_KAFKA_* environment) reads every partition of the topics from its first offset
with aiokafka `getmany`, parses each value with orjson and counts events per (room, type) in a
dict - no dedup, no validation, no Redis. It prints one JSON object: events read, wall seconds
and CPU seconds from the first records received to the last, and the checksum of its counts.

It is what the machine, the broker and aiokafka allow one Python process to read and parse;
`reference_ratio` = the worker's events/s over this loop's events/s in the same invocation.
No consumer group (partitions are assigned directly and sought to the beginning): a group
would add a join, and Tansu answers `end_offsets` / "latest" unreliably, so the loop stops
when it has read `--expect` messages or every partition's position reached its `highwater()`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.bench.measure import runqueue_seconds
from streams.settings import KafkaSettings
from streams.worker.config import WorkerSettings

_loads = orjson.loads
_BAD = (orjson.JSONDecodeError, TypeError)


def count(batch: dict, counts: dict) -> int:
    """Parse and count one `getmany` result; returns the messages it held (bad ones too)."""
    n = 0
    for records in batch.values():
        n += len(records)
        for r in records:
            try:
                ev = _loads(r.value)
            except _BAD:  # the simulator's hostile messages: not JSON, or no value
                continue
            if type(ev) is dict:
                k = (ev.get("room_id"), ev.get("type"))
                counts[k] = counts.get(k, 0) + 1
    return n


def consumer_for(kafka: KafkaSettings, worker: WorkerSettings) -> AIOKafkaConsumer:
    # The worker's fetch sizes: the same requests to the broker, so the reference is not
    # slowed (or sped up) by a different fetch pattern.
    return AIOKafkaConsumer(**kafka.client_kwargs(), group_id=None, enable_auto_commit=False,
                            client_id="roompulse-bench-reference",
                            fetch_max_wait_ms=worker.fetch_max_wait_ms,
                            fetch_max_bytes=worker.fetch_max_bytes,
                            max_partition_fetch_bytes=worker.max_partition_fetch_bytes)


async def read_all(kafka: KafkaSettings, topics: list[str], partitions: int, expect: int,
                   timeout_s: float = 600.0) -> dict:
    worker = WorkerSettings()
    consumer = consumer_for(kafka, worker)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        counts: dict = {}
        n = 0
        t0 = c0 = t1 = c1 = w0 = 0.0
        deadline = time.monotonic() + timeout_s
        while n < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=worker.fetch_timeout_ms)
            if not batch:
                if n and await at_end(consumer, tps):
                    break
                continue
            if not n:  # the clock starts at the first records, as the worker's does
                t0, c0, w0 = time.perf_counter(), time.process_time(), runqueue_seconds("self")
            n += count(batch, counts)
            t1, c1 = time.perf_counter(), time.process_time()
        w1 = runqueue_seconds("self")
    finally:
        await consumer.stop()
    return {"events": n, "seconds": round(t1 - t0, 4), "cpu_seconds": round(c1 - c0, 4),
            "runqueue_seconds": round(w1 - w0, 4) if n else 0.0,
            "rooms": len({room for room, _ in counts}), "counted": sum(counts.values())}


async def at_end(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> bool:
    """Every partition's position reached its highwater (known once a fetch answered)."""
    for tp in tps:
        hw = consumer.highwater(tp)
        if hw is None or await consumer.position(tp) < hw:
            return False
    return True


def rates(result: dict) -> tuple[float | None, float | None]:
    """(events/s, CPU-s per million) of a `read_all` result; None when it read nothing."""
    n, secs, cpu = result.get("events", 0), result.get("seconds", 0), result.get("cpu_seconds")
    if n <= 0 or secs <= 0:
        return None, None
    return n / secs, (cpu / n * 1e6 if cpu is not None else None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--topics", required=True, help="comma-separated topic names")
    ap.add_argument("--partitions", type=int, required=True)
    ap.add_argument("--expect", type=int, required=True, help="messages to read")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--stock-gzip", action="store_true",
                    help="decode gzip batches with aiokafka's own GzipFile reader")
    args = ap.parse_args(argv)
    if not args.stock_gzip:
        # The worker's codec (one zlib call per batch, same bytes): aiokafka's Python-level
        # GzipFile reader would make the reference slower than it has to be.
        from streams.worker.gzipdecode import use_fast_gzip_decode
        use_fast_gzip_decode()
    result = asyncio.run(read_all(KafkaSettings(), args.topics.split(","), args.partitions,
                                  args.expect, args.timeout))
    result["stock_gzip"] = args.stock_gzip
    print(orjson.dumps(result).decode(), flush=True)
    return 0 if result["events"] >= args.expect else 1


if __name__ == "__main__":
    sys.exit(main())
