"""The recording file format (.jsonl): one message per line, byte-exact, bad bytes wrapped.

Written by the simulator (`roompulse simulate --out`), read by `roompulse backtest` and
`roompulse report --from-recording`; the format is the application's, not the simulator's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

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


def encode_line(key: bytes | None, value: bytes, expect: str | None) -> bytes:
    """One line of a recording: a good event as itself, a bad message in its envelope."""
    if expect is None:
        return value + b"\n"
    return orjson.dumps({"_raw": base64.b64encode(value).decode(),
                         "_key": key.decode() if key else None, "_expect": expect}) + b"\n"


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
