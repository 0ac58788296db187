"""Backtest input: any of three line formats, detected per line, as records with offsets.

- the simulator's recordings (`roompulse simulate --out`): an event per line, bad messages
  wrapped as `{"_raw": base64, "_key": ..., "_expect": ...}`;
- plain JSONL: one event JSON per line (a simulator recording without bad messages is one);
- `{"topic": ..., "key": ..., "value": ..., "timestamp": ...}` lines (what a topic dump holds):
  `value` a JSON object or a string, `key` and `timestamp` (Kafka record time, ms) optional.

Every line becomes a record the ingest path takes (`offset`, `key`, `value`, `timestamp`) on
(topic, partition 0), with offsets counted per topic. Nothing here judges a message: a line
that is not JSON is passed on as the message it would have been, and the decoder dead-letters
it `not_json` like any other. Only what cannot be a message at all (a broken envelope, a line
longer than any message could be) is rejected here, with the reason it is counted under.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from schemas.events import MAX_MESSAGE_BYTES, MAX_TS_MS, MIN_TS_MS
from streams.recordings import ENVELOPE_PREFIX
from streams.settings import TopicSettings
from streams.topics import topic_for

# A wrapped message is base64 (4/3 of its size) plus the envelope; anything longer than this
# cannot be a message the decoder would accept, and is not held in memory whole.
MAX_LINE_BYTES = 2 * MAX_MESSAGE_BYTES + 4096


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One message of a backtest input, shaped like the Kafka records the worker consumes."""

    topic: str
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int | None = None  # the producer's clock, when the input has one
    hint: int | None = None  # the event's `ts` read without validation (the recording's clock)
    reject: str | None = None  # a dead-letter reason decided here (the line is no message)
    line: int = 0


class LineReader:
    """Turns lines into InputRecords; offsets are counted per topic (partition 0)."""

    def __init__(self, topics: TopicSettings | None = None) -> None:
        self.topics = topics or TopicSettings()
        self.views = self.topics.name("views")
        self._next: dict[str, int] = {}

    def _record(self, topic: str, key: bytes | None, value: bytes | None, n: int, *,
                timestamp: int | None = None, obj: Any = None,
                reject: str | None = None) -> InputRecord:
        offset = self._next.get(topic, 0)
        self._next[topic] = offset + 1
        return InputRecord(topic, offset, key, value, timestamp, _hint(obj), reject, n)

    def _routed(self, key: bytes | None, value: bytes | None, n: int,
                obj: Any = None) -> InputRecord:
        """A bare message: topic by event type, as `roompulse replay` routes it."""
        if obj is None and value is not None:
            obj = _loads(value)
        kind = obj.get("type") if isinstance(obj, dict) else None
        topic = topic_for(kind if isinstance(kind, str) else None, self.topics)
        return self._record(topic, key, value, n, obj=obj)

    def parse(self, line: bytes, n: int) -> InputRecord:
        obj = _loads(line)
        if not isinstance(obj, dict):  # not JSON, or not an object: a message all the same
            return self._routed(None, line, n, obj)
        if line.startswith(ENVELOPE_PREFIX):
            try:
                value = base64.b64decode(obj["_raw"], validate=True)
            except (KeyError, TypeError, ValueError, binascii.Error):
                return self._record(self.views, None, None, n, reject="not_json")
            key = obj.get("_key")
            return self._routed(key.encode() if isinstance(key, str) else None, value, n)
        if "topic" in obj and "value" in obj and "type" not in obj:
            return self._topic_line(obj, n)
        room = obj.get("room_id")
        return self._routed(room.encode() if isinstance(room, str) else None, line, n, obj)

    def _topic_line(self, obj: dict, n: int) -> InputRecord:
        topic, raw, key = obj["topic"], obj["value"], obj.get("key")
        if not isinstance(topic, str) or not topic:
            topic = self.views
        value: bytes | None
        if isinstance(raw, str):  # the message as sent: parse it for its own fields
            value = raw.encode()
            inner = _loads(value)
        else:
            value = None if raw is None else orjson.dumps(raw)
            inner = raw if isinstance(raw, dict) else None
        ts = obj.get("timestamp")
        ts = ts if type(ts) is int and MIN_TS_MS <= ts <= MAX_TS_MS else None
        key_b = key.encode() if isinstance(key, str) else None
        return self._record(topic[:249], key_b, value, n, timestamp=ts, obj=inner)

    def read(self, f: BinaryIO) -> Iterator[InputRecord]:
        n = 0
        while True:
            line = f.readline(MAX_LINE_BYTES)
            if not line:
                return
            n += 1
            if not line.endswith(b"\n") and len(line) == MAX_LINE_BYTES:
                while (rest := f.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass  # skip the rest of an overlong line without holding it
                yield self._record(self.views, None, None, n, reject="too_large")
                continue
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield self.parse(line, n)


def read_input(path: Path | str, topics: TopicSettings | None = None) -> Iterator[InputRecord]:
    """Every record of a backtest input file, in order (raises OSError if it cannot be read)."""
    with open(path, "rb") as f:
        yield from LineReader(topics).read(f)


def records_of(values: Iterable[bytes], topics: TopicSettings | None = None
               ) -> Iterator[InputRecord]:
    """Records from message values already in memory (each value is one line's worth)."""
    reader = LineReader(topics)
    for n, value in enumerate(values, start=1):
        yield reader.parse(value, n)


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _hint(obj: Any) -> int | None:
    ts = obj.get("ts") if isinstance(obj, dict) else None
    return ts if type(ts) is int and MIN_TS_MS <= ts <= MAX_TS_MS else None
