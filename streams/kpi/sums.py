"""Bucket counters split by level (room, per source, per product), and how sums combine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Sums:
    room: dict[str, int] = field(default_factory=dict)
    sources: dict[str, dict[str, int]] = field(default_factory=dict)
    products: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.room or self.sources or self.products)


# A bucket hash as read: a mapping of str, or of bytes as redis-py returns them undecoded, or
# the flat [field, value, field, value...] list HGETALL replies with (no dict built first).
BucketHash = Mapping[str, str] | Mapping[bytes, bytes] | list[bytes] | list[str]


def parse_bucket(h: BucketHash) -> Sums:
    """One bucket hash (`code`, `s:<source>:<code>`, `p:<product>:<code>`) as Sums; names and
    values may be str or (as redis-py returns them) bytes.

    One pass straight into the three levels: an alert tick parses every open bucket of every
    room (~7 a room), and decoding into a dict, then splitting it, was a tenth of the tick."""
    room: dict[str, int] = {}
    sources: dict[str, dict[str, int]] = {}
    products: dict[str, dict[str, int]] = {}
    items: Iterable[tuple[Any, Any]] = zip(h[::2], h[1::2], strict=True) \
        if isinstance(h, list) else h.items()
    for k, v in items:
        name = k.decode() if isinstance(k, bytes) else k
        head = name[:2]
        if head == "p:" or head == "s:":
            member, _, code = name[2:].rpartition(":")
            level = products if head == "p:" else sources
            d = level.get(member)
            if d is None:
                d = level[member] = {}
            d[code] = int(v)
        else:
            room[name] = int(v)
    return Sums(room, sources, products)


def _add_flat(dst: dict[str, int], src: dict[str, int], sign: int) -> None:
    for k, v in src.items():
        n = dst.get(k, 0) + sign * v
        if n:
            dst[k] = n
        else:
            dst.pop(k, None)


def _add_nested(dst: dict[str, dict[str, int]], src: dict[str, dict[str, int]],
                sign: int) -> None:
    for member, counters in src.items():
        d = dst.get(member)
        if d is None:
            d = dst[member] = {}
        _add_flat(d, counters, sign)
        if not d:  # a member whose counters all left the window is no longer in it
            del dst[member]


def add_sums(dst: Sums, src: Sums, sign: int = 1) -> None:
    """dst += sign * src, in place; fields that reach 0 are dropped (absent = 0)."""
    _add_flat(dst.room, src.room, sign)
    _add_nested(dst.sources, src.sources, sign)
    _add_nested(dst.products, src.products, sign)


def merged(base: Sums, extra: list[Sums], levels: frozenset[str] = frozenset("rsp")) -> Sums:
    """base + every extra, as a new Sums; base is not touched, and what the extras do not
    touch (most products, in a second) is shared with it, not copied.

    `levels` ("r" room, "s" sources, "p" products): only those are summed; the others come
    back EMPTY (not base's, which would silently lack the extras). A room's 5-minute window
    read only for room KPIs then costs no product merging, which was a third of a tick."""
    if not extra:
        return base
    want_r = "r" in levels
    out = Sums(dict(base.room) if want_r else {},
               dict(base.sources) if "s" in levels else {},
               dict(base.products) if "p" in levels else {})
    nested = [(name, getattr(out, name)) for lvl, name in (("s", "sources"), ("p", "products"))
              if lvl in levels]
    copied: set[tuple[str, str]] = set()
    for e in extra:
        if want_r:
            _add_flat(out.room, e.room, 1)
        for name, dst in nested:
            for member, counters in getattr(e, name).items():
                if (name, member) not in copied:
                    copied.add((name, member))
                    dst[member] = dict(dst.get(member) or {})
                _add_flat(dst[member], counters, 1)
    return out
