"""Message bytes to an event or a dead-letter reason; never raises on any input."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER, EVENT_TYPES, MAX_MESSAGE_BYTES, SCHEMA_VERSION, BaseEvent

ID_FIELDS = frozenset({"event_id", "room_id", "user_id", "brand_id", "product_id", "order_id"})
ID_RULE = ("ids may not contain `{`, `}` or control characters (newline, tab, NUL), "
           "nor start or end with a space")


class DeadLetterReason(StrEnum):
    """Why a message could not be processed; the `reason` of a dead letter."""

    too_large = "too_large"
    not_json = "not_json"
    not_object = "not_object"
    missing_type = "missing_type"
    unknown_type = "unknown_type"
    unsupported_version = "unsupported_version"
    invalid = "invalid"
    future_ts = "future_ts"  # ts too far ahead of wall time or of the Kafka record timestamp
    too_old = "too_old"  # older than the partition watermark minus retention: nowhere to apply
    wrong_key = "wrong_key"
    room_limit = "room_limit"  # a new room while the worker already tracks the room cap
    internal = "internal"  # handling this one message raised: a bug, isolated to the message


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected message: the reason (enum) and a one-line human detail."""

    reason: DeadLetterReason
    detail: str

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}"


def describe_errors(exc: ValidationError, limit: int = 3) -> str:
    """Render pydantic errors as `field: message` parts, naming each field precisely."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        loc = [str(p) for p in err.get("loc", ())]
        # The first element of a union location is the tag; drop it for readability.
        if loc and loc[0] in EVENT_TYPES:
            loc = loc[1:]
        field = ".".join(loc) or "(message)"
        msg = err.get("msg", "invalid")
        if err.get("type") == "string_pattern_mismatch" and loc and loc[-1] in ID_FIELDS:
            msg = ID_RULE  # the regex itself helps no producer
        parts.append(f"{field}: {msg}")
    extra = exc.error_count() - limit
    if extra > 0:
        parts.append(f"(+{extra} more)")
    return "; ".join(parts)


def classify_validation_error(exc: ValidationError) -> DeadLetter:
    """Turn a pydantic error for one event into a dead letter."""
    try:
        errors = exc.errors(include_url=False, include_input=False)
    except Exception:  # noqa: BLE001 - pydantic can fail to render exotic inputs
        return DeadLetter(DeadLetterReason.invalid, "validation failed")
    for err in errors:
        loc = err.get("loc", ())
        if err.get("type") == "union_tag_not_found":
            return DeadLetter(DeadLetterReason.missing_type, "field `type` is missing")
        if err.get("type") == "union_tag_invalid":
            return DeadLetter(DeadLetterReason.unknown_type,
                              f"unknown event type: {err.get('msg')}")
        if loc and loc[-1] == "schema_version":
            return DeadLetter(
                DeadLetterReason.unsupported_version,
                f"schema_version must be {SCHEMA_VERSION}",
            )
        if loc and loc[-1] == "ts" and "in the future" in str(err.get("msg", "")):
            return DeadLetter(DeadLetterReason.future_ts, f"ts: {err.get('msg')}")
    return DeadLetter(DeadLetterReason.invalid, describe_errors(exc))


def precheck(data: Any) -> DeadLetter | None:
    """Checks that need no parsing: type of the payload and the size limit."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return DeadLetter(DeadLetterReason.not_json, f"payload is {type(data).__name__}, not bytes")
    if len(data) > MAX_MESSAGE_BYTES:
        return DeadLetter(
            DeadLetterReason.too_large,
            f"message is {len(data)} bytes; the limit is {MAX_MESSAGE_BYTES}",
        )
    return None


def decode(data: bytes | None, *, now_ms: int | None = None) -> BaseEvent | DeadLetter:
    """Decode one Kafka message value. Returns the event or a DeadLetter; never raises."""
    try:
        if data is None:
            return DeadLetter(DeadLetterReason.not_json, "message has no value (tombstone)")
        bad = precheck(data)
        if bad is not None:
            return bad
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return DeadLetter(DeadLetterReason.not_json, f"not valid JSON: {str(exc)[:120]}")
        if not isinstance(obj, dict):
            return DeadLetter(
                DeadLetterReason.not_object, f"expected a JSON object, got {type(obj).__name__}"
            )
        etype = obj.get("type")
        if etype is None:
            return DeadLetter(DeadLetterReason.missing_type, "field `type` is missing")
        if not isinstance(etype, str) or etype not in EVENT_TYPES:
            shown = repr(etype)[:60]
            return DeadLetter(DeadLetterReason.unknown_type, f"unknown event type {shown}")
        ctx = {"now_ms": now_ms if now_ms is not None else int(time.time() * 1000)}
        try:
            event: BaseEvent = EVENT_ADAPTER.validate_python(obj, context=ctx)
            return event
        except ValidationError as exc:
            return classify_validation_error(exc)
    except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
        return DeadLetter(DeadLetterReason.invalid, f"{type(exc).__name__}: {str(exc)[:120]}")


def encode(event: BaseEvent) -> bytes:
    """Serialise an event as the compact JSON the contract describes."""
    return event.model_dump_json(exclude_none=True).encode()
