"""Decode a whole fetched batch at once: the common shape in C, the rest by the contract."""

from __future__ import annotations

import logging
from operator import attrgetter, itemgetter
from typing import Any, cast

import orjson
from pydantic import ValidationError
from pydantic_core import SchemaValidator, core_schema

from schemas.decode import DeadLetter, DeadLetterReason, decode, precheck
from schemas.events import (
    EVENT_LIST_ADAPTER,
    MAX_FUTURE_MS,
    MAX_MESSAGE_BYTES,
    MAX_TS_MS,
    MIN_TS_MS,
    BaseEvent,
    _fields_only,
    _to_epoch_ms,
)
from streams.ingest.fastdecode import (
    fast_structs,
    from_fields,
    id_failures,
    to_fields,
    unclear,
)

# An event's fields as its model would hold them (`event.__dict__`), or why it was rejected.
Decoded = dict[str, Any] | DeadLetter
_ts = attrgetter("ts")
_field_ts = itemgetter("ts")
log = logging.getLogger(__name__)
_fast_failed = False  # logged once


def _plain_ts_validator() -> SchemaValidator:
    """EVENT_FIELDS_LIST_VALIDATOR with `ts` checked in Rust instead of by its two Python
    validators (~0.4 µs per event): an int in [MIN_TS_MS, MAX_TS_MS], nothing else.

    For such an int `_to_epoch_ms` returns it as it is, so every item this accepts is what the
    contract's validator returns, provided `ts` is not in the future: `_exact_batch` checks that
    for the whole batch in C. Whatever else the contract accepts as a ts (an ISO string, a whole
    float) fails here and takes the per-message path, which names the outcome exactly.
    Built from the contract's own core schema (schemas' `_fields_only`), so the two cannot
    drift; a ts schema of another shape fails at import rather than validating differently.
    """
    union = dict(EVENT_LIST_ADAPTER.core_schema["items_schema"])
    choices = {}
    for tag, model in union["choices"].items():
        fields_only = _fields_only(model)
        fields = dict(fields_only["fields"])
        ts = fields["ts"]["schema"]
        if not (ts.get("type") == "function-after"
                and ts["function"]["function"].__name__ == "_not_in_future"
                and ts["schema"].get("type") == "function-before"
                and ts["schema"]["function"]["function"] is _to_epoch_ms
                and ts["schema"]["schema"] == {"type": "int"}):
            raise TypeError(f"unexpected core schema of {tag}.ts (the contract changed?)")
        fields["ts"] = {**fields["ts"], "schema": core_schema.int_schema(
            strict=True, ge=MIN_TS_MS, le=MAX_TS_MS)}
        choices[tag] = {**fields_only, "fields": fields}
    union["choices"] = choices
    return SchemaValidator(core_schema.list_schema(union))


_EVENT_FIELDS = _plain_ts_validator()


def decode_events(values: list[bytes | None], now_ms: int) -> list[Any]:
    """Decode every value: an event (read by attribute, as the contract's models are) or a
    DeadLetter; the result is index-aligned with `values` and never raises.

    Messages of the contract's common shape are parsed and validated together in C
    (`streams.ingest.fastdecode`: it accepts only what the contract accepts, as the same fields;
    its ids are checked for the whole batch and the future limit in bulk); every other message
    takes `_exact_batch`, the contract's own validation, which names the dead-letter reason.
    """
    try:
        return _decode_fast(values, now_ms)
    except Exception:  # a fast-path bug must cost speed, never a batch
        global _fast_failed
        if not _fast_failed:
            _fast_failed = True
            log.exception("fast decoding failed; this batch (and any other it fails) is decoded "
                          "by the exact path")
        return _events(_exact_batch(values, now_ms))


def decode_batch(values: list[bytes | None], now_ms: int) -> list[Decoded]:
    """`decode_events` with each event as its field dict (what `schemas.decode.decode` would
    return as a model, as `model.__dict__`; enum fields as their string values)."""
    events = decode_events(values, now_ms)
    out: list[Decoded] = list(events)
    idx = [i for i, e in enumerate(events) if type(e) is not DeadLetter]
    for i, fields in zip(idx, to_fields([events[i] for i in idx]), strict=True):
        out[i] = fields
    return out


def _events(decoded: list[Decoded]) -> list[Any]:
    return [d if type(d) is DeadLetter else from_fields(cast("dict[str, Any]", d))
            for d in decoded]


def _decode_fast(values: list[bytes | None], now_ms: int) -> list[Any]:
    n = len(values)
    if set(map(type, values)) == {bytes} and max(map(len, cast("list[bytes]", values))) \
            <= MAX_MESSAGE_BYTES:
        pos: list[int] | None = None  # the common case: every value a candidate
        sane = cast("list[bytes]", values)
    else:  # tombstones, non-bytes or too large: the exact path says why
        pos = [i for i, v in enumerate(values) if type(v) is bytes and len(v) <= MAX_MESSAGE_BYTES]
        sane = [cast(bytes, values[i]) for i in pos]
    events, failed = fast_structs(sane)
    if failed:
        skip = set(failed)
        keep = [j for j in range(len(sane)) if j not in skip]
        pos = keep if pos is None else [pos[j] for j in keep]
        sane = [sane[j] for j in keep]
    bad: set[int] = set()
    check = unclear(sane)
    if check:  # exact, for those only
        bad.update(check[k] for k in id_failures([events[j] for j in check]))
    limit = now_ms + MAX_FUTURE_MS
    if events and max(map(_ts, events)) > limit:  # rare: the exact path says why
        bad.update(j for j, event in enumerate(events) if event.ts > limit)
    if pos is None and not bad:
        return events
    out: list[Any] = [None] * n
    for j, event in enumerate(events):
        if j not in bad:
            out[j if pos is None else pos[j]] = event
    rest = [i for i in range(n) if out[i] is None]
    exact = _events(_exact_batch([values[i] for i in rest], now_ms))
    for i, decoded in zip(rest, exact, strict=True):
        out[i] = decoded
    return out


def _exact_batch(values: list[bytes | None], now_ms: int) -> list[Decoded]:
    """The contract's validation for messages the fast path did not accept.

    Each message is parsed on its own with orjson (cheap, and it keeps one message from merging
    with its neighbours, which joining raw bytes into one JSON array would allow), then all
    parsed objects are validated by ONE `validate_python` call on the list (`ts` as a plain int,
    the future checked in bulk: see `_plain_ts_validator`). Messages the list validation
    rejects are re-decoded one by one with `schemas.decode.decode`, which names the dead-letter
    reason exactly as the per-message path does.
    """
    objs = _parse_all(values)
    if objs is not None:  # the common case: every message is a JSON object of a sane size
        out: list[Any] = [None] * len(values)
        where = list(range(len(values)))
    else:
        out, objs, where = _parse_each(values, now_ms)
    ctx = {"now_ms": now_ms}
    while objs:
        try:
            events = _EVENT_FIELDS.validate_python(objs, context=ctx)
        except ValidationError as exc:
            bad_idx = _bad_indices(exc, len(objs))
            for j in bad_idx:
                i = where[j]
                out[i] = _decode_one(values[i], now_ms)
            keep = [j for j in range(len(objs)) if j not in bad_idx]
            objs = [objs[j] for j in keep]
            where = [where[j] for j in keep]
            continue
        except (RecursionError, MemoryError, ValueError, TypeError, OverflowError):
            for i in where:  # something exotic: fall back to the per-message path
                out[i] = _decode_one(values[i], now_ms)
            break
        limit = now_ms + MAX_FUTURE_MS
        if events and max(map(_field_ts, events)) > limit:  # rare: the per-message path says why
            events = [_decode_one(values[i], now_ms) if event["ts"] > limit else event
                      for i, event in zip(where, events, strict=True)]
        if len(events) == len(out):
            return events
        for i, event in zip(where, events, strict=True):  # one event per validated object
            out[i] = event
        break
    return out


def _decode_one(value: bytes | None, now_ms: int) -> Decoded:
    ev = decode(value, now_ms=now_ms)
    return ev.__dict__ if isinstance(ev, BaseEvent) else ev


def _parse_all(values: list[bytes | None]) -> list[Any] | None:
    """All values parsed, or None when any one needs the careful per-message path."""
    if set(map(type, values)) != {bytes}:
        return None  # empty, a tombstone (None) or not bytes
    raw = cast("list[bytes]", values)
    if max(map(len, raw)) > MAX_MESSAGE_BYTES:
        return None  # too large
    try:
        objs = list(map(orjson.loads, raw))
    except ValueError:  # orjson.JSONDecodeError
        return None
    return objs if set(map(type, objs)) == {dict} else None


def _parse_each(values: list[bytes | None], now_ms: int) -> tuple[list, list, list[int]]:
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
            out[i] = _decode_one(value, now_ms)
            continue
        if type(obj) is not dict:
            out[i] = _decode_one(value, now_ms)
            continue
        objs.append(obj)
        where.append(i)
    return out, objs, where


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
