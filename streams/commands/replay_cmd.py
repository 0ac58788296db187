"""`roompulse replay FILE.jsonl`: play a recording into Kafka (keyed by room, topic by type)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from streams.produce import EventProducer
from streams.settings import KafkaSettings, TopicSettings
from streams.simulator.runner import Progress, replay
from streams.stack import StackError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="play a recording made by `simulate --out` into Kafka")
    p.add_argument("file", type=Path, help="the .jsonl recording")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float,
                      help="broadcast seconds per wall second (default: as fast as possible)")
    pace.add_argument("--as-fast-as-possible", action="store_true", help="no pacing (default)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kafka = KafkaSettings()
    if not kafka.bootstrap:
        raise StackError("no Kafka: run `roompulse stack up` and export ROOMPULSE_KAFKA_BOOTSTRAP")
    if not args.file.exists():
        raise StackError(f"no such recording: {args.file}")
    if args.speed is not None and args.speed <= 0:
        raise StackError("--speed must be positive")
    progress = None if args.quiet else Progress("replay")

    async def go() -> None:
        async with EventProducer(kafka, TopicSettings()) as producer:
            await replay(args.file, producer, speed=args.speed, progress=progress)

    try:
        asyncio.run(go())
    except ValueError as exc:
        raise StackError(str(exc)) from None
    if progress:
        progress.done()
    return 0
