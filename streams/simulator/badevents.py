"""Malformed and invalid messages, one kind per dead-letter reason the decoder must assign."""

from __future__ import annotations

import random

import orjson

from schemas.decode import DeadLetterReason as R

# Every reason except late / wrong_key (those depend on the consumer, not the bytes).
BAD_REASONS: tuple[R, ...] = (
    R.not_json, R.not_object, R.missing_type, R.unknown_type, R.unsupported_version,
    R.invalid, R.future_ts, R.too_large,
)
TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000  # future_ts stays in the future when replayed later


def make_bad(rng: random.Random, reason: R, good: dict) -> bytes:
    """The bytes of one bad message derived from a good event `good` (not modified)."""
    base = {**good, "event_id": f"bad-{good['event_id']}"}
    if reason is R.not_json:
        return rng.choice((
            orjson.dumps(base)[: rng.randrange(5, 40)],
            b"\xff\xfe\x00garbage\x80",
            b"type=enter room_id=" + base["room_id"].encode(),
        ))
    if reason is R.not_object:
        return rng.choice((b"[1, 2, 3]", b'"enter"', b"null", b"42", orjson.dumps([base])))
    if reason is R.missing_type:
        return orjson.dumps({k: v for k, v in base.items() if k != "type"})
    if reason is R.unknown_type:
        return orjson.dumps({**base, "type": rng.choice(("purchase", "room_view", "gift", ""))})
    if reason is R.unsupported_version:
        return orjson.dumps({**base, "schema_version": 2})
    if reason is R.future_ts:
        return orjson.dumps({**base, "ts": base["ts"] + TEN_YEARS_MS})
    if reason is R.too_large:
        return orjson.dumps({**base, "type": "comment", "text": "好" * 24_000})
    if reason is R.invalid:
        return _invalid(rng, base)
    raise ValueError(f"no bad-message recipe for {reason}")


def _invalid(rng: random.Random, base: dict) -> bytes:
    common = {k: base[k] for k in ("event_id", "room_id", "ts", "user_id") if k in base}
    variants = (
        {**common, "type": "order", "order_id": "o-bad", "product_id": "p-bad", "amount": -9.9},
        {**common, "type": "cart_add", "product_id": "p-bad", "quantity": 0},
        {**common, "type": "leave"},  # missing watch_ms
        {**common, "type": "enter", "source": "television"},  # bad enum
        {**common, "type": "like", "ts": base["ts"] // 1000},  # seconds, not milliseconds
        {**common, "type": "order", "order_id": "o-bad", "product_id": "p-bad",
         "amount": 10, "currency": "yuan"},
    )
    return orjson.dumps(rng.choice(variants))
