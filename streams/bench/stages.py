"""Offline per-stage cost of the worker's hot path (µs/event): decode, prepare, fold, build_ops.

`python -m streams.bench.stages [--events 200000] [--batch 10000]`: simulator messages (the
bench's mix), cut into fetch-like batches over 8 partitions, best of `--repeat` runs, CPU time.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from streams.bench.run import BenchConfig, simulation
from streams.ingest.decoding import decode_events
from streams.ingest.limits import LiveRooms
from streams.ingest.prepare import IngestState, prepare, tune_gc
from streams.ingest.timepolicy import TimePolicy
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.keys import Keys
from streams.kpi.ops import build_ops


@dataclass(slots=True)
class Rec:
    """The fields of an aiokafka ConsumerRecord the worker reads."""

    offset: int
    key: bytes
    value: bytes


def sim_values(n: int, rooms: int = 50) -> tuple[int, list[tuple[int, list[Rec]]]]:
    """The first `n` non-control simulator messages, spread over 8 partitions by key."""
    now_ms = int(time.time() * 1000)
    parts: dict[int, list[Rec]] = {}
    got = 0
    for m in simulation(BenchConfig(events=1_000_000, rooms=rooms), now_ms).messages():
        if m.kind == "control":
            continue
        p = hash(m.key) % 8
        recs = parts.setdefault(p, [])
        recs.append(Rec(len(recs), m.key, m.value))
        got += 1
        if got >= n:
            break
    return now_ms, sorted(parts.items())


def batches(parts: list[tuple[int, list[Rec]]], size: int):
    """Cut the partitions into fetch-like batches of about `size` records."""
    per = max(1, size // max(1, len(parts)))
    at = 0
    while True:
        out = [(("bench.views", p), recs[at:at + per]) for p, recs in parts if recs[at:at + per]]
        if not out:
            return
        yield out
        at += per


def run(n: int, batch: int, repeat: int) -> dict[str, float]:
    now_ms, parts = sim_values(n)
    settings = KpiSettings()
    keys = Keys("bench")
    best: dict[str, float] = {}
    for _ in range(repeat):
        t_dec = t_prep = t_ops = 0.0
        rooms = LiveRooms(settings.max_live_rooms, settings.room_idle_s * 1000,
                          settings.max_products_per_room)
        state = IngestState(20_000, rooms)
        policy = TimePolicy.from_settings(settings)
        total = 0
        for b in batches(parts, batch):
            values = [r.value for _, recs in b for r in recs]
            t0 = time.process_time()
            decode_events(values, now_ms)
            t1 = time.process_time()
            p = prepare(b, state, BatchFolder(settings, rooms.product), policy, now_ms)
            t2 = time.process_time()
            offsets = {k: recs[-1].offset + 1 for k, recs in b}
            build_ops(p.delta, offsets, "g", now_ms, settings, keys, {})
            t3 = time.process_time()
            t_dec += t1 - t0
            t_prep += t2 - t1
            t_ops += t3 - t2
            total += len(values)
        figures = {"decode_events": t_dec, "prepare (decode+dedup+fold)": t_prep,
                   "  of which dedup+late+fold": t_prep - t_dec,
                   "build_ops": t_ops, "prepare+build_ops": t_prep + t_ops}
        for k, v in figures.items():
            best[k] = min(best.get(k, float("inf")), v / total * 1e6)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--default-gc", action="store_true",
                    help="keep CPython's default GC thresholds (the worker tunes them)")
    args = ap.parse_args()
    if not args.default_gc:
        tune_gc()
    for stage, us in run(args.events, args.batch, args.repeat).items():
        print(f"{stage:32} {us:6.2f} µs/event")


if __name__ == "__main__":
    main()
