"""`roompulse topics create`: create every roompulse topic idempotently."""

from __future__ import annotations

import argparse
import asyncio

from streams.settings import KafkaSettings, TopicSettings
from streams.stack import StackError
from streams.topics import create_topics


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("topics", help="manage the roompulse topics")
    tsub = p.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    c = tsub.add_parser(
        "create", help="create missing topics (ROOMPULSE_TOPICS_PARTITIONS, default 8)")
    c.add_argument("--partitions", type=int, help="override the configured partition count")
    c.set_defaults(func=run_create)


def run_create(args: argparse.Namespace) -> int:
    kafka = KafkaSettings()
    if not kafka.bootstrap:
        raise StackError("set ROOMPULSE_KAFKA_BOOTSTRAP (or run `roompulse stack up` first)")
    topics = TopicSettings()
    if args.partitions:
        topics = topics.model_copy(update={"partitions": args.partitions})
    result = asyncio.run(create_topics(kafka, topics))
    for name, state in result.items():
        print(f"{state:8} {name}")
    return 0
