"""Dead letters: rejected messages, with their original bytes, sent to the dead-letter topic.

A dead letter always fits: above `max_bytes` it carries a prefix of the original (base64), the
original length and SHA-256, `truncated: true` and the source position to fetch the rest.
The format is documented in docs/worker.md ("Dead-letter format").
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time

import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry, Counter

from streams.ingest.prepare import Rejected
from streams.settings import KafkaSettings
from streams.worker.errors import error_kind, is_retryable

log = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 256 * 1024  # well below the producer's 1 MiB and a broker's ~1 MB default
DETAIL_MAX_CHARS = 500  # a decoder's detail may quote the input; it must not eat the budget
KEY_MAX_BYTES = 1024  # larger source keys are replaced by their digest as the record key
LOG_EVERY_S = 60.0


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _b64_len(data: bytes) -> int:
    """Length of `data`'s padded base64, without encoding it."""
    return 4 * ((len(data) + 2) // 3)


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _prefix_len(b64_chars: int) -> int:
    """The most original bytes whose base64 takes at most `b64_chars` characters."""
    return max(0, b64_chars) // 4 * 3


def record_key(r: Rejected) -> bytes | None:
    """The dead letter's own Kafka key: the source key, or its digest when that is huge (the
    record key counts toward the broker's size limit too; a digest keeps one key per source)."""
    if r.key is None or len(r.key) <= KEY_MAX_BYTES:
        return r.key
    return b"sha256:" + hashlib.sha256(r.key).hexdigest().encode()


def _detail(r: Rejected) -> str:
    # Lone surrogates (from a lenient decode of hostile bytes) would make the JSON encoder raise.
    return r.why.detail[:DETAIL_MAX_CHARS].encode("utf-8", "replace").decode()


def _header(r: Rejected, now_ms: int) -> dict:
    return {
        "reason": r.why.reason.value,
        "detail": _detail(r),
        "source_topic": r.topic,
        "source_partition": r.partition,
        "source_offset": r.offset,
        "ts": now_ms,
    }


def encode_dead_letter(r: Rejected, now_ms: int | None = None,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The dead-letter JSON, at most `max_bytes` minus the record key's length.

    Full form: `original_b64` / `original_key_b64` hold the whole original. Truncated form (when
    the full one would not fit): `truncated: true`, base64 prefixes of value and key, and the
    length and SHA-256 of each, so the original can be fetched from source topic/partition/offset
    and checked.
    """
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    limit = max_bytes - len(record_key(r) or b"")
    doc = _header(r, now_ms)
    full = orjson.dumps({**doc, "original_b64": _b64(r.value), "original_key_b64": _b64(r.key)})
    if len(full) <= limit:
        return full
    doc.update(truncated=True,
               original_len=None if r.value is None else len(r.value),
               original_sha256=_sha256(r.value),
               original_key_len=None if r.key is None else len(r.key),
               original_key_sha256=_sha256(r.key),
               original_b64=None if r.value is None else "",
               original_key_b64=None if r.key is None else "")
    # base64 is plain ASCII (no JSON escaping), so the budget is exact by construction.
    budget = limit - len(orjson.dumps(doc))
    if budget < 0:
        raise ValueError(f"dead-letter limit {max_bytes} B is below its fixed fields")
    key_chars = 0 if r.key is None else min(_b64_len(r.key), budget // 4)
    key_prefix = b"" if r.key is None else r.key[:_prefix_len(key_chars)]
    value_prefix = (b"" if r.value is None
                    else r.value[:_prefix_len(budget - _b64_len(key_prefix))])
    if r.value is not None:
        doc["original_b64"] = _b64(value_prefix)
    if r.key is not None:
        doc["original_key_b64"] = _b64(key_prefix)
    return orjson.dumps(doc)


def encode_minimal(r: Rejected, now_ms: int, error: BaseException) -> bytes:
    """The smallest dead letter: reason, source position, digests and why the full one failed.
    Sent when the broker refused the normal one for a reason retrying cannot fix."""
    return orjson.dumps({
        "reason": r.why.reason.value,
        "detail": _detail(r),
        "source_topic": r.topic, "source_partition": r.partition, "source_offset": r.offset,
        "ts": now_ms, "truncated": True, "minimal": True,
        "original_len": None if r.value is None else len(r.value),
        "original_sha256": _sha256(r.value),
        "original_key_len": None if r.key is None else len(r.key),
        "original_key_sha256": _sha256(r.key),
        "original_b64": None, "original_key_b64": None,
        "send_error": f"{type(error).__name__}: {str(error)[:200]}",
    })


def decode_dead_letter(data: bytes) -> dict:
    """Read either form back. `original` / `original_key` are the whole original bytes, or None
    when absent or cut; `original_prefix` / `original_key_prefix` are what the letter carries
    (all of it when not truncated); `truncated` is always set."""
    obj = orjson.loads(data)
    obj.setdefault("truncated", False)
    for name in ("original", "original_key"):
        b64 = obj.get(f"{name}_b64")
        raw = None if b64 is None else base64.b64decode(b64)
        obj[f"{name}_prefix"] = raw
        whole = not obj["truncated"] or (raw is not None and len(raw) == obj.get(f"{name}_len"))
        obj[name] = raw if whole else None
    return obj


class DeadLetterSink:
    """Sends dead letters and waits for the broker's acknowledgement of every one.

    The engine awaits `send` BEFORE it applies the batch (and its offsets) to Redis, so a crash
    can only send a dead letter twice, never lose it: dead letters are at-least-once.

    Only retryable errors (`streams.worker.errors.is_retryable`: broker unreachable, timeouts,
    leader moves) leave `send`; the caller retries the whole call. A dead letter the broker
    refuses for good (too large for its limit, invalid topic, authorization) is re-sent in its
    minimal form; if that is refused too, it is counted in
    `roompulse_worker_deadletter_send_failures_total{kind}`, logged once a minute per kind, and
    dropped - one message must never stall the pipeline.
    """

    def __init__(self, kafka: KafkaSettings, topic: str, *, client_id: str = "roompulse-dlq",
                 max_bytes: int = DEFAULT_MAX_BYTES, max_request_size: int = 1024 * 1024,
                 registry: CollectorRegistry | None = None) -> None:
        self.topic = topic
        self.max_bytes = max_bytes
        self._max_request_size = max_request_size  # aiokafka's default; a test lowers it
        self._kafka, self._client_id = kafka, client_id
        self._producer: AIOKafkaProducer | None = None
        self._started = False
        self._starting = asyncio.Lock()
        # A private registry when none is given: still counted (tests read it), never global.
        self.failures = Counter(
            "roompulse_worker_deadletter_send_failures", "Dead letters the broker refused for "
            "good: minimal (sent in minimal form) or dropped (even that refused), by error kind",
            ["outcome", "kind"], registry=registry or CollectorRegistry())
        self._last_log: dict[str, float] = {}
        self._held: dict[str, int] = {}

    async def start(self) -> None:
        async with self._starting:  # the KPI loop and the control agent share one sink
            if not self._started:
                # Created here, not in __init__: aiokafka binds to the running loop.
                producer = AIOKafkaProducer(
                    **self._kafka.client_kwargs(), client_id=self._client_id,
                    compression_type=self._kafka.compression, acks="all", linger_ms=5,
                    max_request_size=self._max_request_size,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()  # a failed start leaves its client's tasks behind
                    raise
                self._producer, self._started = producer, True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            if self._producer is not None:
                await self._producer.stop()

    async def send(self, rejected: list[Rejected]) -> None:
        if not rejected:
            return
        await self.start()
        now_ms = int(time.time() * 1000)
        pending: list[tuple[Rejected, asyncio.Future]] = []
        for r in rejected:
            fut = await self._enqueue(r, now_ms)
            if fut is not None:
                pending.append((r, fut))
        results = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
        outage: BaseException | None = None
        for (r, _), result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                if is_retryable(result):
                    outage = outage or result
                else:
                    await self._send_minimal(r, now_ms, result)
        if outage is not None:
            raise outage

    def _started_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("DeadLetterSink used before start()")
        return self._producer

    async def _enqueue(self, r: Rejected, now_ms: int) -> asyncio.Future | None:
        """Hand one record to the producer; a refusal retrying cannot fix goes minimal."""
        producer = self._started_producer()
        try:
            value = encode_dead_letter(r, now_ms, self.max_bytes)
            return await producer.send(self.topic, value, key=record_key(r))
        except Exception as exc:
            if is_retryable(exc):
                raise
            await self._send_minimal(r, now_ms, exc)
            return None

    async def _send_minimal(self, r: Rejected, now_ms: int, error: BaseException) -> None:
        kind = error_kind(error)
        producer = self._started_producer()
        try:
            fut = await producer.send(self.topic, encode_minimal(r, now_ms, error))
            await fut
        except Exception as exc:
            if is_retryable(exc):
                raise  # the broker went away meanwhile: an outage like any other
            self.failures.labels("dropped", error_kind(exc)).inc()
            self._log_once(kind, "dead letter for %s/%d@%d dropped: the broker refused it (%s) "
                           "and its minimal form (%s)", r.topic, r.partition, r.offset,
                           type(error).__name__, type(exc).__name__)
            return
        self.failures.labels("minimal", kind).inc()
        self._log_once(kind, "dead letter for %s/%d@%d sent in minimal form: the broker "
                       "refused it (%s)", r.topic, r.partition, r.offset, type(error).__name__)

    def _log_once(self, kind: str, msg: str, *args: object) -> None:
        """One WARNING per kind per minute, with how many were held back since the last one."""
        now = time.monotonic()
        last = self._last_log.get(kind)
        if last is not None and now - last < LOG_EVERY_S:
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        self._last_log[kind] = now
        held = self._held.pop(kind, 0)
        log.warning(msg + (f" [{held} more like this not logged]" if held else ""), *args)
