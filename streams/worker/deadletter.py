"""Dead letters: rejected messages, with their original bytes, sent to the dead-letter topic."""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaProducer

from schemas.decode import DeadLetter
from streams.settings import KafkaSettings


@dataclass(frozen=True, slots=True)
class Rejected:
    """One rejected message and where it came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    why: DeadLetter


def encode_dead_letter(r: Rejected, now_ms: int | None = None) -> bytes:
    """The dead-letter JSON: original bytes (base64), source position, reason, detail, ts."""
    return orjson.dumps({
        "reason": r.why.reason.value,
        "detail": r.why.detail,
        "source_topic": r.topic,
        "source_partition": r.partition,
        "source_offset": r.offset,
        "original_b64": None if r.value is None else base64.b64encode(r.value).decode(),
        "original_key_b64": None if r.key is None else base64.b64encode(r.key).decode(),
        "ts": now_ms if now_ms is not None else int(time.time() * 1000),
    })


def decode_dead_letter(data: bytes) -> dict:
    """Read a dead letter back; `original` holds the decoded original bytes (or None)."""
    obj = orjson.loads(data)
    b64 = obj.get("original_b64")
    obj["original"] = None if b64 is None else base64.b64decode(b64)
    return obj


class DeadLetterSink:
    """Sends dead letters and waits for the broker's acknowledgement of every one.

    The engine awaits `send` BEFORE it applies the batch (and its offsets) to Redis, so a crash
    can only send a dead letter twice, never lose it: dead letters are at-least-once.
    """

    def __init__(self, kafka: KafkaSettings, topic: str, *, client_id: str = "roompulse-dlq"):
        self.topic = topic
        self._kafka, self._client_id = kafka, client_id
        self._producer: AIOKafkaProducer | None = None

        self._started = False
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        async with self._starting:  # the KPI loop and the control agent share one sink
            if not self._started:
                # Created here, not in __init__: aiokafka binds to the running loop.
                self._producer = AIOKafkaProducer(
                    **self._kafka.client_kwargs(), client_id=self._client_id,
                    compression_type=self._kafka.compression, acks="all", linger_ms=5,
                )
                await self._producer.start()
                self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._producer.stop()

    async def send(self, rejected: list[Rejected]) -> None:
        if not rejected:
            return
        await self.start()
        now_ms = int(time.time() * 1000)
        futures = [
            await self._producer.send(self.topic, encode_dead_letter(r, now_ms), key=r.key)
            for r in rejected
        ]
        await asyncio.gather(*futures)
