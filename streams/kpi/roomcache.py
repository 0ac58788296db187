"""What RoomWindowReader keeps per room between ticks: window segments, counts, KPI results."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from schemas.kpis import KpiValue, WindowInfo
from streams.kpi.sums import Sums, add_sums

# A plan's buckets as ((fine lo, hi), (coarse lo, hi)): plans are contiguous ranges, so sets
# of buckets (settled, entering, leaving) are computed from ends, not bucket by bucket.
Ranges = tuple[tuple[int, int], tuple[int, int]]
PlanKey = Ranges
FINE, COARSE = "f", "c"  # streams.kpi.keys.FINE / COARSE
BucketRef = tuple[str, int]  # (FINE or COARSE, bucket start ms)
SegKey = tuple[str, int]  # (window, how far its end lies behind the newest request's)
HllKey = tuple[SegKey, str, str, str]  # (segment, level, member, HLL kind)
ResultKey = tuple[SegKey, str, str]  # (segment, level, member)
RoomInputs = tuple[dict[str, int], dict[str, int], int]  # (counters, distinct counts, online)
# (plan key: None for the room, inputs, KPIs wanted, the KPIs computed from the inputs)
CachedResult = tuple[PlanKey | None, RoomInputs | dict[str, int], frozenset[str] | None,
                     dict[str, KpiValue]]


def plan_ranges(fine: tuple[int, ...], coarse: tuple[int, ...], bms: int, cms: int) -> Ranges:
    return ((fine[0], fine[-1] + bms) if fine else (0, 0),
            (coarse[0], coarse[-1] + cms) if coarse else (0, 0))


def settled_part(r: Ranges, limit: int | None, bms: int, cms: int) -> Ranges:
    """The buckets of `r` that end at or before `limit`."""
    if limit is None:
        return ((0, 0), (0, 0))
    (f0, f1), (c0, c1) = r
    fs = min(f1, max(f0, limit - limit % bms))
    cs = min(c1, max(c0, limit - limit % cms))
    return ((f0, fs), (c0, cs))


def _cut(a: tuple[int, int], b: tuple[int, int], step: int) -> list[int]:
    a0, a1 = a
    if a0 >= a1:
        return []
    b0, b1 = b
    if b0 >= b1:
        return list(range(a0, a1, step))
    return list(range(a0, min(a1, b0), step)) + list(range(max(a0, b1), a1, step))


def minus(a: Ranges, b: Ranges, bms: int, cms: int) -> list[tuple[str, int]]:
    """Buckets of `a` that are not in `b`."""
    return [(FINE, x) for x in _cut(a[0], b[0], bms)] + \
        [(COARSE, x) for x in _cut(a[1], b[1], cms)]


def size(r: Ranges, bms: int, cms: int) -> int:
    return max(0, r[0][1] - r[0][0]) // bms + max(0, r[1][1] - r[1][0]) // cms


@dataclass
class Segment:
    """Sums over one window's settled buckets, slid from tick to tick."""

    settled: Ranges = ((0, 0), (0, 0))
    total: Sums = field(default_factory=Sums)
    present: set[BucketRef] = field(default_factory=set)  # settled buckets that hold anything
    # product -> settled buckets with it
    where: dict[str, set[BucketRef]] = field(default_factory=dict)
    plan_key: PlanKey | None = None
    prev_plan_key: PlanKey | None = None
    # buckets of the previous plan that are not in this one; None = not known
    left: frozenset[BucketRef] | None = None

    def move(self, plan_key: PlanKey, bms: int, cms: int) -> None:
        if plan_key != self.plan_key:
            self.left = None if self.plan_key is None else \
                frozenset(minus(self.plan_key, plan_key, bms, cms))
            self.prev_plan_key, self.plan_key = self.plan_key, plan_key

    def slide(self, rb: BucketRef, bucket: Sums, sign: int) -> None:
        add_sums(self.total, bucket, sign)
        if sign > 0:
            if not bucket.empty:
                self.present.add(rb)
            for pid in bucket.products:
                self.where.setdefault(pid, set()).add(rb)
            return
        self.present.discard(rb)
        for pid in bucket.products:
            w = self.where.get(pid)
            if w is not None:
                w.discard(rb)
                if not w:
                    del self.where[pid]


@dataclass
class RoomCache:
    expires: float
    first_ms: int | None
    segments: dict[SegKey, Segment] = field(default_factory=dict)
    # (segment key, level, member, kind) -> (plan key, counter signature, count)
    hll: dict[HllKey, tuple[PlanKey | None, tuple[int, ...], int]] = field(default_factory=dict)
    results: dict[ResultKey, CachedResult] = field(default_factory=dict)
    names: dict[str, str] | None = None
    pin_ts: str | None = None

    def renewed(self, expires: float, first_ms: int | None) -> RoomCache:
        """A rebuild: sums are re-read, while counts and results (checked against their inputs
        before use) carry over."""
        return RoomCache(expires, first_ms, hll=self.hll, results=self.results)


def count_hit(cache: RoomCache, seg: Segment, hkey: HllKey, sig: tuple[int, ...],
              got: Mapping[BucketRef, Sums], counters_of: Callable[[Sums], dict[str, int] | None],
              codes: tuple[str, ...]) -> int | None:
    """The cached distinct count for `hkey`, when it still holds.

    It holds when the counters that move with the kind have the same sum over the window and
    either the window is where it was, or it slid and the buckets that left it held none of
    those counters (then no member entered and none left).
    """
    hit = cache.hll.get(hkey)
    if hit is None or hit[1] != sig:
        return None
    if hit[0] == seg.plan_key:
        return hit[2]
    if hit[0] != seg.prev_plan_key or seg.left is None:
        return None
    for rb in seg.left:
        bucket = got.get(rb)
        if bucket is None:
            return None
        c = counters_of(bucket)
        if c and any(c.get(code) for code in codes):
            return None
    cache.hll[hkey] = (seg.plan_key, sig, hit[2])
    return hit[2]


def slid_past(seg: Segment, plan_key: PlanKey | None, got: Mapping[BucketRef, Sums],
              counters_of: Callable[[Sums], dict[str, int] | None]) -> bool:
    """Whether a member's result cached for `plan_key` describes the same buckets' worth of
    events now: the plan is the same, or it is the next one and every bucket that left the
    window held none of the member's counters. (With the member's counters also unchanged, the
    bucket that entered held none either: the same events, so the same distinct counts.)"""
    if plan_key == seg.plan_key:
        return True
    if plan_key is None or plan_key != seg.prev_plan_key or seg.left is None:
        return False
    for rb in seg.left:
        bucket = got.get(rb)
        if bucket is None or counters_of(bucket):
            return False
    return True


class NeedLike(Protocol):
    """A Need, or anything with its two fields (alerts.reader.ReadNeed)."""

    @property
    def kpis(self) -> frozenset[str] | None: ...

    @property
    def products(self) -> frozenset[str] | None: ...


@dataclass(frozen=True)
class Need:
    """What a request is read for: these KPIs (None = all), these products (None = top N)."""

    kpis: frozenset[str] | None = None
    products: frozenset[str] | None = None


@dataclass(slots=True)
class WindowRow:
    """What a room/product/source snapshot carries, without model validation (a tick builds
    tens of thousands); the same attributes as schemas.kpis.RoomSnapshot & co."""

    room_id: str
    info: WindowInfo
    kpis: dict[str, KpiValue]
    product_id: str | None = None
    product_name: str | None = None
    source: str | None = None


@dataclass
class ReadStats:
    rooms: int = 0
    buckets: int = 0
    pfcounts: int = 0
    hll_hits: int = 0
