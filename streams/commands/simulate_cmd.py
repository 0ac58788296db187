"""`roompulse simulate`: realistic broadcast events into Kafka or a recording, plus truth."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from streams.produce import EventProducer
from streams.settings import KafkaSettings, TopicSettings
from streams.simulator.config import (
    DEFAULT_EXPOSURES_PER_MIN,
    SCENARIOS,
    ScenarioSpec,
    SimConfig,
    exposures_for_rate,
)
from streams.simulator.runner import Progress, live_start_ms, record, run_simulation
from streams.stack import StackError

LIVE_TRUTH_DEFAULT = Path("roompulse-truth.json")


def parse_start(text: str) -> int:
    """`--start`: epoch milliseconds or ISO-8601 (a zone-less time is taken as UTC)."""
    if text.lstrip("-").isdigit():
        return int(text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate live broadcasts (into Kafka, or --out FILE)")
    p.add_argument("--rooms", type=int, default=3, help="number of rooms (default 3)")
    p.add_argument("--room-prefix", default="room-", help="room ids are PREFIX1..PREFIXN")
    p.add_argument("--seed", type=int, default=1, help="same seed + same --start = same bytes")
    p.add_argument("--duration", type=int, default=120, help="broadcast minutes (default 120)")
    p.add_argument("--speed", type=float, default=60.0,
                   help="broadcast seconds per wall second when producing (default 60)")
    p.add_argument("--as-fast-as-possible", action="store_true", help="no pacing when producing")
    p.add_argument("--rate", type=float,
                   help="target events/s in wall time (sets the audience size); default: "
                        f"{DEFAULT_EXPOSURES_PER_MIN:.0f} room exposures per room-minute")
    p.add_argument("--start", type=parse_start,
                   help="broadcast start, ISO-8601 or epoch ms (default: chosen so the run "
                        "ends now)")
    p.add_argument("--scenario", action="append", default=[], metavar="NAME[:ROOM]",
                   help=f"repeatable; one of {', '.join(SCENARIOS)}")
    p.add_argument("--bad-events", type=float, default=0.0, metavar="P",
                   help="fraction of messages that are malformed/invalid")
    p.add_argument("--duplicates", type=float, default=0.0, metavar="P",
                   help="fraction of events re-sent with the same event_id")
    p.add_argument("--out", type=Path, help="write a recording (.jsonl) instead of producing")
    p.add_argument("--truth", type=Path,
                   help="ground-truth JSON (default: OUT.truth.json with --out, else "
                        f"./{LIVE_TRUTH_DEFAULT})")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace, start_ms: int) -> SimConfig:
    exposures = (exposures_for_rate(args.rate, args.speed, args.rooms) if args.rate
                 else DEFAULT_EXPOSURES_PER_MIN)
    try:
        return SimConfig(
            start_ms=start_ms, rooms=args.rooms, room_prefix=args.room_prefix, seed=args.seed,
            duration_min=args.duration, exposures_per_min=exposures,
            scenarios=tuple(ScenarioSpec.parse(s, f"{args.room_prefix}1") for s in args.scenario),
            bad_events=args.bad_events, duplicates=args.duplicates,
        )
    except ValueError as exc:
        raise StackError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    now = int(time.time() * 1000)
    progress = None if args.quiet else Progress("simulate")
    if args.out is not None:
        config = build_config(args, args.start if args.start is not None
                              else now - args.duration * 60_000)
        truth_path = args.truth or args.out.with_suffix(".truth.json")
        truth = record(config, args.out, progress)
    else:
        kafka = KafkaSettings()
        if not kafka.bootstrap:
            raise StackError("no Kafka: run `roompulse stack up` and export "
                             "ROOMPULSE_KAFKA_BOOTSTRAP (or use --out FILE.jsonl)")
        if args.speed < 1 and not args.as_fast_as_possible:
            raise StackError("--speed must be >= 1 (event time may not run ahead of wall time)")
        speed = None if args.as_fast_as_possible else args.speed
        start = args.start if args.start is not None else live_start_ms(
            now, args.duration, speed or 1e9)
        config = build_config(args, start)
        truth_path = args.truth or LIVE_TRUTH_DEFAULT

        async def go():
            async with EventProducer(kafka, TopicSettings()) as producer:
                return await run_simulation(config, producer, speed=speed, progress=progress)

        truth = asyncio.run(go())
    if progress:
        progress.done()
    truth_path.write_bytes(truth.dumps())
    print(f"truth written to {truth_path}", file=sys.stderr)
    return 0
