"""Hypothesis strategies for hostile message streams, and what each message must become.

Every generated message carries the set of outcomes it may legitimately have ("folded", "dup"
or a dead-letter reason), decided from how it was built, never from the pipeline's code. The
few outcomes that depend on pipeline state (a too-old event before any watermark exists, a copy
of an earlier message) are settled by the property test while it drives the batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from hypothesis import strategies as st

from schemas.events import MAX_FUTURE_MS, MAX_MESSAGE_BYTES
from tests.streams.ingest.harness import NOW, SETTINGS, Rec

FOLDED, DUP = "folded", "dup"
DECODE_REASONS = frozenset({"not_json", "not_object", "missing_type", "unknown_type", "invalid"})
TOPICS = [("t.interactions", 0), ("t.interactions", 1), ("t.orders", 0)]
TYPES = ["enter", "like", "product_click", "cart_add", "order"]
# Valid ids: `:` (key separators), spaces, CJK, emoji. `coll-a` next to `coll-a:ph:f:1` and a
# product `z:state` would share Redis keys if ids were not fenced by the hash tag.
ROOMS = ["r1", "coll-a", "coll-a:ph:f:1", "直播间 2", "😀", "x" * 128]
PRODUCTS = ["p1", "z:state", "商品", "🛍️", "p:1:clk", "boom"]
POISON = "boom"  # a valid id; the fault-injection run makes folding it raise
USERS = [None, "u1", "u2", "用户😀", "a b"]
# Ids the contract refuses: they could address another id's keys, or break logs.
BAD_IDS = ["coll-a}:ph:f:1:ck:z", "a{b", "room-ok\n", "x" * 10_240, " lead", "tab\there",
           "nul\x00", "z}:state", ""]
ID_FIELDS = {"enter": ["event_id", "room_id", "user_id", "brand_id"]}
for _t in TYPES[1:]:
    ID_FIELDS[_t] = ID_FIELDS["enter"] + (["product_id"] if _t != "like" else []) \
        + (["order_id"] if _t == "order" else [])
REQUIRED = {t: ["type", "event_id", "room_id", "ts"] for t in TYPES}
for _t in ("product_click", "cart_add"):
    REQUIRED[_t] = REQUIRED[_t] + ["product_id"]
REQUIRED["order"] = REQUIRED["order"] + ["product_id", "order_id", "amount"]
TOO_OLD_MS = SETTINGS.too_old_ms
RECORD_AHEAD_MS = SETTINGS.max_ahead_of_record_s * 1000


@dataclass
class Msg:
    """One generated message: where it goes, its bytes, and what it may become."""

    part: int  # index into the drawn partitions
    value: bytes | None
    record_ts: int | None
    kind: str
    allowed: frozenset[str]
    event: dict | None = None  # the event as generated, for the reference fold
    cents: int = 0  # an order's amount in cents, as generated (not re-derived from JSON)
    names: str | None = None  # the field a dead letter's detail must name
    dup_of: int | None = None  # index of the message this one copies

    def __repr__(self) -> str:  # keep falsifying examples readable (values can be 70 KB)
        v = self.value if self.value is None or len(self.value) <= 300 \
            else self.value[:150] + b"...(%d bytes)..." % len(self.value) + self.value[-80:]
        return f"Msg({self.part}, {self.kind}, {v!r}, rts={self.record_ts})"

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis prints falsifying examples so
        printer.text(repr(self))


@st.composite
def valid_event(draw, eid: str, ts: int) -> tuple[dict, int]:
    """A valid event of one of TYPES (as its JSON object) and, for an order, its cents."""
    etype = draw(st.sampled_from(TYPES))
    obj: dict = {"type": etype, "event_id": eid, "room_id": draw(st.sampled_from(ROOMS)),
                 "ts": ts}
    user = draw(st.sampled_from(USERS))
    if user is not None:
        obj["user_id"] = user
    if draw(st.booleans()):
        obj["platform"] = draw(st.sampled_from(["douyin", "taobao", "other"]))
    if draw(st.integers(0, 3)) == 0:
        obj["brand_id"] = draw(st.sampled_from(["b1", "品牌"]))
    if etype == "like" and draw(st.booleans()):
        obj["count"] = draw(st.integers(1, 1000))
    if etype in ("product_click", "cart_add", "order"):
        obj["product_id"] = draw(st.sampled_from(PRODUCTS))
    if etype == "cart_add" and draw(st.booleans()):
        obj["quantity"] = draw(st.integers(1, 5))
    cents = 0
    if etype == "order":
        cents = draw(st.integers(0, 10**9))
        obj["amount"] = cents // 100 if cents % 100 == 0 and draw(st.booleans()) else cents / 100
        obj["order_id"] = f"o-{eid}"
        obj["status"] = draw(st.sampled_from(["paid", "paid", "refunded", "created"]))
    return obj, cents


KINDS = (["normal"] * 6 + ["late", "ahead", "nested_junk", "too_old", "dup", "dup",
                           "bytes", "non_object", "tombstone", "missing", "nan", "null_number",
                           "deep", "oversized", "wall_future", "record_future", "bad_id"])


@st.composite
def message(draw, i: int, parts: int, earlier: list[Msg], kinds: list[str]) -> Msg:
    """Message number `i` of a stream; `earlier` are the ones before it (for copies)."""
    kind = draw(st.sampled_from(kinds))
    if kind == "dup" and earlier:
        j = draw(st.integers(0, len(earlier) - 1))
        o = earlier[j]
        return Msg(o.part, o.value, o.record_ts, "dup", frozenset(), o.event, o.cents, o.names,
                   dup_of=j)
    kind = "normal" if kind == "dup" else kind
    part = draw(st.integers(0, parts - 1))
    rts = draw(st.sampled_from([NOW, NOW - 2_000, None]))
    eid = f"e{i}"
    ts = NOW - draw(st.integers(0, 180_000))
    if kind == "late":
        ts = NOW - draw(st.integers(3, 60)) * 60_000 - draw(st.integers(0, 59_999))
    elif kind == "ahead":  # ahead of wall clock and record time, within both limits
        ts = NOW + draw(st.integers(1, 240_000))
    elif kind == "too_old":
        ts = NOW - TOO_OLD_MS - draw(st.integers(60_000, 7_200_000))
    elif kind == "wall_future":
        ts = NOW + MAX_FUTURE_MS + draw(st.integers(1, 86_400_000))
    elif kind == "record_future":  # fine for the wall clock, but ahead of its record time
        rts = NOW - 900_000
        ts = rts + RECORD_AHEAD_MS + draw(st.integers(1, 200_000))
    obj, cents = draw(valid_event(eid, ts))
    folded = frozenset({FOLDED})
    if kind in ("normal", "late", "ahead"):
        return Msg(part, orjson.dumps(obj), rts, kind, folded, obj, cents)
    if kind == "nested_junk":  # deep, but within the parser's limit, in an ignored field
        obj["junk"] = [[[[[[[[[[[[[[[[[[{"x": [1, [2, [3]]]}]]]]]]]]]]]]]]]]]]
        value = orjson.dumps(obj)[:-1] + b',"deep":' + b"[" * 600 + b"]" * 600 + b"}"
        return Msg(part, value, rts, kind, folded, obj, cents)
    if kind == "too_old":  # settled against the watermark by the test
        return Msg(part, orjson.dumps(obj), rts, kind, frozenset({FOLDED, "too_old"}), obj,
                   cents)
    if kind in ("wall_future", "record_future"):
        return Msg(part, orjson.dumps(obj), rts, kind, frozenset({"future_ts"}))
    if kind == "bytes":
        return Msg(part, draw(st.binary(max_size=300)), rts, kind, DECODE_REASONS)
    if kind == "non_object":
        val = draw(st.one_of(st.integers(-2**63, 2**63 - 1), st.text(max_size=20), st.booleans(),
                             st.none(),
                             st.lists(st.integers(-2**63, 2**63 - 1), max_size=3),
                             st.floats(allow_nan=False, allow_infinity=False)))
        return Msg(part, orjson.dumps(val), rts, kind, frozenset({"not_object"}))
    if kind == "tombstone":
        return Msg(part, None, rts, kind, frozenset({"not_json"}))
    if kind == "missing":
        name = draw(st.sampled_from(REQUIRED[obj["type"]]))
        del obj[name]
        if name == "type":
            return Msg(part, orjson.dumps(obj), rts, kind, frozenset({"missing_type"}))
        return Msg(part, orjson.dumps(obj), rts, kind, frozenset({"invalid"}), names=name)
    if kind == "nan":  # NaN / Infinity literals are not JSON
        name = "amount" if obj["type"] == "order" else "ts"
        literal = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e400"]))
        obj[name] = "@@"
        value = orjson.dumps(obj).replace(b'"@@"', literal)
        return Msg(part, value, rts, kind, frozenset({"not_json"}))
    if kind == "null_number":  # what a serializer writes for NaN (orjson, JSON.stringify)
        name = "amount" if obj["type"] == "order" else "ts"
        obj[name] = float("nan")
        return Msg(part, orjson.dumps(obj), rts, kind, frozenset({"invalid"}), names=name)
    if kind == "deep":
        depth = draw(st.integers(1_100, 20_000))
        value = draw(st.sampled_from([
            b"[" * depth + b"]" * depth,
            orjson.dumps(obj)[:-1] + b',"x":' + b"[" * depth + b"]" * depth + b"}"]))
        return Msg(part, value, rts, kind, frozenset({"not_json"}))
    if kind == "oversized":
        if draw(st.booleans()):
            obj["pad"] = "x" * (MAX_MESSAGE_BYTES + draw(st.integers(0, 10_000)))
            value = orjson.dumps(obj)
        else:
            value = b"\xff" * (MAX_MESSAGE_BYTES + 1)
        return Msg(part, value, rts, kind, frozenset({"too_large"}))
    assert kind == "bad_id", kind
    name = draw(st.sampled_from(ID_FIELDS[obj["type"]]))
    obj[name] = draw(st.sampled_from(BAD_IDS))
    return Msg(part, orjson.dumps(obj), rts, kind, frozenset({"invalid"}), names=name)


@st.composite
def streams(draw, max_size: int = 60, kinds: list[str] = KINDS) -> tuple[list, list[Msg]]:
    """(partitions, messages): 2-3 partitions, messages in arrival order."""
    tps = TOPICS[:draw(st.integers(2, 3))]
    msgs: list[Msg] = []
    for i in range(draw(st.integers(1, max_size))):
        msgs.append(draw(message(i, len(tps), msgs, kinds)))
    return tps, msgs


def batch_sizes() -> st.SearchStrategy[list[int]]:
    """How many messages of the arrival stream each fetch takes (the rest: one last fetch)."""
    return st.lists(st.integers(1, 12), max_size=20)


def batches(tps: list, msgs: list[Msg], sizes: list[int], bases: dict | None = None
            ) -> tuple[list[list[tuple[tuple[str, int], list[Rec]]]], dict]:
    """Split the arrival stream into fetches of `sizes`; each fetch holds, per partition, the
    next records in offset order. Returns the fetches and (tp, offset) -> message index."""
    bases = bases or {}
    nxt = {tp: bases.get(tp, 0) for tp in tps}
    where: dict[tuple[tuple[str, int], int], int] = {}
    out = []
    at = 0
    for size in [*sizes, len(msgs)]:
        chunk = range(at, min(at + size, len(msgs)))
        at = chunk.stop
        parts: dict[tuple[str, int], list[Rec]] = {}
        for i in chunk:
            tp = tps[msgs[i].part]
            parts.setdefault(tp, []).append(Rec(nxt[tp], b"k", msgs[i].value, msgs[i].record_ts))
            where[(tp, nxt[tp])] = i
            nxt[tp] += 1
        if parts:
            out.append(list(parts.items()))
        if at >= len(msgs):
            break
    return out, where
