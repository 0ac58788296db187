"""`roompulse bench`: throughput, CPU, memory and latency of the worker(s) against a raw reference
loop and a per-event Faust baseline."""

from __future__ import annotations

import argparse
import json
import sys

from streams.stack import start_stack

MULTI_SESSION_MS = 10_000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark the KPI worker against a raw reference loop "
                                     "and a per-event Faust agent")
    p.add_argument("--events", type=int, default=1_000_000, help="events for the throughput run")
    p.add_argument("--rooms", type=int, default=50)
    p.add_argument("--rate", type=float, default=50_000,
                   help="offered events/s of the latency phase")
    p.add_argument("--latency-seconds", type=float, default=5.0)
    p.add_argument("--baseline-events", type=int, default=30_000,
                   help="events the (slow) baseline processes: a prefix of the same workload")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--workers", type=int, default=1, choices=range(1, 17), metavar="N",
                   help="worker processes in one consumer group (1-16)")
    p.add_argument("--session-timeout-ms", type=int, default=None,
                   help="the workers' group session; default with --workers > 1: "
                        f"{MULTI_SESSION_MS} (Tansu keeps a join open for half of it, so every "
                        "worker joins the first generation)")
    p.add_argument("--no-reference", action="store_true",
                   help="skip the raw reference loop (no reference_ratio)")
    p.add_argument("--no-aof", action="store_true",
                   help="start the embedded valkey without its append-only file")
    p.add_argument("--redis-cluster", action="store_true",
                   help="also start a 3-master valkey cluster and run the throughput bench "
                        "on it after the single node (same workload): redis_cluster, "
                        "cluster_vs_single")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    from streams.bench.liveargs import add_arguments
    add_arguments(p)  # --live-rooms N: the evaluation / API bench (streams.bench.liverooms)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.live_rooms and args.redis_cluster:
        print("roompulse bench: --redis-cluster runs the throughput bench, not --live-rooms",
              file=sys.stderr)
        return 2
    if args.live_rooms:
        from streams.bench.liverooms import main
        return main(args)
    from streams.bench.run import BenchConfig
    from streams.bench.run import run as run_bench

    cfg = BenchConfig(events=args.events, rooms=args.rooms, rate=args.rate,
                      latency_s=args.latency_seconds,
                      baseline_events=min(args.baseline_events, args.events),
                      partitions=args.partitions, workers=args.workers,
                      reference=not args.no_reference, redis_aof=not args.no_aof,
                      session_timeout_ms=args.session_timeout_ms or (
                          MULTI_SESSION_MS if args.workers > 1 else None))
    with start_stack(redis_aof=cfg.redis_aof) as stack:
        if args.redis_cluster:
            from streams.bench.cluster import run_both
            result = run_both(cfg, stack)
        else:
            result = run_bench(cfg, stack)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24} {value}")
    correct = result.get("correct") and (not args.redis_cluster
                                         or result["redis_cluster"].get("correct"))
    return 0 if correct else 1
