"""`roompulse tail`: print events from the topics as they arrive, one readable line each."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from datetime import UTC, datetime

from schemas.decode import DeadLetter, decode
from schemas.events import BaseEvent
from streams.settings import KafkaSettings, TopicSettings
from streams.stack import StackError
from streams.topics import read_from_earliest

# Fields worth showing per type, in order; everything else stays hidden.
KEY_FIELDS = ("user_id", "source", "region", "watch_ms", "count", "text", "channel",
              "product_id", "product_name", "quantity", "order_id", "amount", "status",
              "stage", "phase", "audience_package", "stock", "title")


def _clock(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]


def format_message(topic: str, key: bytes | None, value: bytes | None,
                   now_ms: int | None = None) -> str:
    """One human line: `HH:MM:SS.mmm room type k=v ...`, or a clearly marked dead letter."""
    result = decode(value, now_ms=now_ms)
    if isinstance(result, DeadLetter):
        room = key.decode(errors="replace") if key else "-"
        size = len(value) if value is not None else 0
        return f"!! DEAD LETTER {room} [{topic}] {result} ({size} bytes)"
    return format_event(result)


def format_event(ev: BaseEvent) -> str:
    data = ev.model_dump(exclude_none=True)
    parts = []
    for name in KEY_FIELDS:
        if name in data and name in type(ev).model_fields:
            val = data[name]
            val = getattr(val, "value", val)
            if name == "text":
                val = repr(val[:60])
            elif name == "amount":
                val = f"{val:.2f}"
            parts.append(f"{name}={val}")
    etype = data["type"]
    return f"{_clock(ev.ts)} {ev.room_id} {etype:<19} {' '.join(parts)}".rstrip()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tail", help="print events from the topics as they arrive")
    p.add_argument("--topics", nargs="+", metavar="TOPIC",
                   help="topics to read (default: every input topic and the dead-letter topic)")
    p.add_argument("--room", help="only this room (by message key or room_id)")
    p.add_argument("--from-beginning", action="store_true",
                   help="print everything already in the topics, not only new messages")
    p.add_argument("--max-messages", type=int, help="stop after printing this many lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kafka = KafkaSettings()
    if not kafka.bootstrap:
        raise StackError("no Kafka: run `roompulse stack up` and export ROOMPULSE_KAFKA_BOOTSTRAP")
    topics = args.topics or TopicSettings().inputs + [TopicSettings().deadletter]
    if not args.verbose:
        logging.getLogger("aiokafka").setLevel(logging.WARNING)  # keep the lines readable
    asyncio.run(tail(kafka, topics, room=args.room, from_beginning=args.from_beginning,
                     max_messages=args.max_messages))
    return 0


async def tail(kafka: KafkaSettings, topics: list[str], *, room: str | None = None,
               from_beginning: bool = False, max_messages: int | None = None,
               print_fn=print) -> int:
    """Read without a consumer group from the earliest offset (Tansu cannot seek to the end);
    unless `from_beginning`, skip messages whose Kafka timestamp precedes the start."""
    started_ms = int(time.time() * 1000)
    printed = 0
    async with read_from_earliest(kafka, topics) as consumer:
        room_key = room.encode() if room else None
        while max_messages is None or printed < max_messages:
            batches = await consumer.getmany(timeout_ms=500, max_records=1000)
            for tp, msgs in batches.items():
                for msg in msgs:
                    if not from_beginning and msg.timestamp < started_ms:
                        continue
                    line = format_message(tp.topic, msg.key, msg.value)
                    if room_key is not None and msg.key != room_key and f" {room} " not in line:
                        continue
                    print_fn(line)
                    printed += 1
                    if max_messages is not None and printed >= max_messages:
                        return printed
    return printed
