"""`roompulse bench`: throughput, CPU, memory and latency of one worker vs a Faust baseline."""

from __future__ import annotations

import argparse
import json

from streams.stack import start_stack


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark one KPI worker against a per-event Faust agent")
    p.add_argument("--events", type=int, default=1_000_000, help="events for the throughput run")
    p.add_argument("--rooms", type=int, default=50)
    p.add_argument("--rate", type=float, default=50_000,
                   help="offered events/s of the latency phase")
    p.add_argument("--latency-seconds", type=float, default=5.0)
    p.add_argument("--baseline-events", type=int, default=30_000,
                   help="events the (slow) baseline processes: a prefix of the same workload")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from streams.bench.run import BenchConfig
    from streams.bench.run import run as run_bench

    cfg = BenchConfig(events=args.events, rooms=args.rooms, rate=args.rate,
                      latency_s=args.latency_seconds,
                      baseline_events=min(args.baseline_events, args.events),
                      partitions=args.partitions)
    with start_stack() as stack:
        result = run_bench(cfg, stack)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24} {value}")
    return 0 if result.get("correct") else 1
