"""Decode a whole fetched batch at once: one pydantic call for all the valid messages."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from schemas.decode import DeadLetter, DeadLetterReason, decode, precheck
from schemas.events import EVENT_LIST_ADAPTER, BaseEvent

Decoded = BaseEvent | DeadLetter


def decode_batch(values: list[bytes | None], now_ms: int) -> list[Decoded]:
    """Decode every value; the result is index-aligned with `values` and never raises.

    Each message is parsed on its own with orjson (cheap, and it keeps one message from merging
    with its neighbours, which joining raw bytes into one JSON array would allow), then all
    parsed objects are validated by ONE `validate_python` call on the list. Messages the list
    validation rejects are re-decoded one by one with `schemas.decode.decode`, which names the
    dead-letter reason exactly as the per-message path does.
    """
    out: list[Any] = [None] * len(values)
    objs: list[Any] = []
    where: list[int] = []
    for i, value in enumerate(values):
        if value is None:
            out[i] = DeadLetter(DeadLetterReason.not_json, "message has no value (tombstone)")
            continue
        bad = precheck(value)
        if bad is not None:
            out[i] = bad
            continue
        try:
            obj = orjson.loads(value)
        except orjson.JSONDecodeError:
            out[i] = decode(value, now_ms=now_ms)
            continue
        if type(obj) is not dict:
            out[i] = decode(value, now_ms=now_ms)
            continue
        objs.append(obj)
        where.append(i)
    ctx = {"now_ms": now_ms}
    while objs:
        try:
            events = EVENT_LIST_ADAPTER.validate_python(objs, context=ctx)
        except ValidationError as exc:
            bad_idx = _bad_indices(exc, len(objs))
            for j in bad_idx:
                i = where[j]
                out[i] = decode(values[i], now_ms=now_ms)
            keep = [j for j in range(len(objs)) if j not in bad_idx]
            objs = [objs[j] for j in keep]
            where = [where[j] for j in keep]
            continue
        except (RecursionError, MemoryError, ValueError, TypeError, OverflowError):
            for i in where:  # something exotic: fall back to the per-message path
                out[i] = decode(values[i], now_ms=now_ms)
            break
        for i, event in zip(where, events):
            out[i] = event
        break
    return out


def _bad_indices(exc: ValidationError, n: int) -> set[int]:
    bad: set[int] = set()
    try:
        for err in exc.errors(include_url=False, include_input=False):
            loc = err.get("loc", ())
            if loc and isinstance(loc[0], int) and 0 <= loc[0] < n:
                bad.add(loc[0])
    except Exception:  # noqa: BLE001 - rendering errors can fail; treat all as suspect
        return set(range(n))
    return bad or set(range(n))
