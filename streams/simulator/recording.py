"""Recording files (.jsonl): one message per line, byte-exact, bad bytes wrapped in base64."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from streams.simulator.generate import Message

# A good event line is the message value itself (compact JSON, starts with `{"type":`).
# A bad message is wrapped, because its bytes may not be JSON or may hold newlines:
#   {"_raw":"<base64 of the value>","_key":"room-1","_expect":"not_json"}
ENVELOPE_PREFIX = b'{"_raw":'


@dataclass(frozen=True, slots=True)
class Record:
    """One recorded message: key, value, and for bad ones the expected dead-letter reason."""

    key: bytes | None
    value: bytes
    expect: str | None = None
    obj: dict | None = None  # the parsed event (good records only)


def line_for(msg: Message) -> bytes:
    if msg.expect is None:
        return msg.value + b"\n"
    return orjson.dumps({"_raw": base64.b64encode(msg.value).decode(),
                         "_key": msg.key.decode() if msg.key else None,
                         "_expect": msg.expect}) + b"\n"


def write_line(out: BinaryIO, msg: Message) -> None:
    out.write(line_for(msg))


def read_recording(path: Path | str) -> Iterator[Record]:
    """Every message in the file, in order; raises ValueError naming a broken line."""
    with open(path, "rb") as f:
        for n, line in enumerate(f, start=1):
            line = line.rstrip(b"\n")
            if not line:
                continue
            if line.startswith(ENVELOPE_PREFIX):
                try:
                    env = orjson.loads(line)
                    value = base64.b64decode(env["_raw"], validate=True)
                except (orjson.JSONDecodeError, KeyError, ValueError) as exc:
                    raise ValueError(f"{path}:{n}: broken bad-message envelope ({exc})") from None
                key = env.get("_key")
                yield Record(key.encode() if key else None, value, env.get("_expect") or "unknown")
            else:
                try:
                    obj = orjson.loads(line)
                    room = obj.get("room_id")
                except (orjson.JSONDecodeError, AttributeError) as exc:
                    raise ValueError(f"{path}:{n}: not an event line ({exc})") from None
                yield Record(room.encode() if isinstance(room, str) else None, line, None, obj)
