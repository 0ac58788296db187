"""`roompulse stack up`: run the embedded broker and valkey-server until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio

from streams.settings import TopicSettings
from streams.stack import main_loop_until_signal, start_stack
from streams.topics import create_topics


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stack", help="the embedded Kafka (Tansu) + Redis (valkey) stack")
    ssub = p.add_subparsers(dest="stack_command", metavar="ACTION", required=True)
    up = ssub.add_parser("up", help="start both, print their URLs, stop on Ctrl-C")
    up.add_argument("--no-topics", action="store_true", help="do not create the roompulse topics")
    up.set_defaults(func=run_up)


def run_up(args: argparse.Namespace) -> int:
    stack = start_stack()
    try:
        if not args.no_topics:
            asyncio.run(create_topics(stack.kafka, TopicSettings()))
        kafka_note = "embedded Tansu" if stack.embedded_kafka else "configured"
        redis_note = "embedded valkey-server" if stack.embedded_redis else "configured"
        print(f"kafka  {stack.bootstrap}  ({kafka_note})")
        print(f"redis  {stack.redis_url if stack.embedded_redis else '(configured URL)'}  "
              f"({redis_note})")
        print(f"export ROOMPULSE_KAFKA_BOOTSTRAP={stack.bootstrap}")
        if stack.embedded_redis:
            print(f"export ROOMPULSE_REDIS_URL={stack.redis_url}")
    except BaseException:
        stack.stop()
        raise
    main_loop_until_signal(stack, lambda: print("Ctrl-C stops both.", flush=True))
    return 0
