"""One room's share of a RoomWindowReader batch: plan its windows, take its buckets, count."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from schemas.kpis import RoomState, WindowInfo
from streams.kpi import keys as K
from streams.kpi.aggregates import product_agg, room_agg, source_agg
from streams.kpi.buckets import WindowPlan
from streams.kpi.formulas import product_kpis, room_kpis, source_kpis
from streams.kpi.needs import (
    ONLINE,
    PRODUCT_KIND_COUNTERS,
    PRODUCT_KPI_KINDS,
    ROOM_KIND_COUNTERS,
    ROOM_KPI_KINDS,
    kinds_for,
)
from streams.kpi.roomcache import (
    BucketRef,
    HllKey,
    Need,
    NeedLike,
    PlanKey,
    RoomCache,
    SegKey,
    Segment,
    WindowRow,
    count_hit,
    minus,
    plan_ranges,
    settled_part,
    size,
    slid_past,
)
from streams.kpi.sums import BucketHash, Sums, merged, parse_bucket
from streams.kpi.windows import window_span

if TYPE_CHECKING:
    from schemas.kpis import KpiValue
    from streams.kpi.roomread import RoomWindowReader

_ONLINE = "_online"  # internal request: broadcast entries - leaves for online_viewers
# The levels of the sums each kind of request reads (sources also read the room's entries).
_LEVELS = {"room": "r", _ONLINE: "r", "product": "p", "source": "rs"}

Request = tuple[str, str, int]  # (per: room | product | source, window, now_ms)
# A window's buckets to read: (segment, entering, leaving, open buckets, plan)
Job = tuple[Segment, list[BucketRef], list[BucketRef], list[BucketRef], WindowPlan]
# (buckets of the open part that hold anything, product -> open buckets with it)
OpenPart = tuple[set[BucketRef], dict[str, set[BucketRef]]]
# A row to count: (member: "" for the room, product id (None: the room), its counters,
# the HLL kinds wanted, kind -> the counters that move with it)
Member = tuple[str, str | None, dict[str, int], set[str], dict[str, tuple[str, ...]]]
# What a request reads to: the room's row, or one row per product / source
Rows = WindowRow | list[WindowRow]


class RoomJob:
    """Steps, each fed by one pipelined read shared with the other rooms of the batch:
    `__init__` (after the state read) plans, `take_buckets` slides the cached sums and returns
    the distinct counts to read, `finish` builds the rows."""

    def __init__(self, reader: RoomWindowReader, room_id: str, needs: Mapping[Request, NeedLike],
                 state: RoomState,
                 state_h: dict[str, str], clock_h: dict[str, str], cache: RoomCache,
                 first_ms: int | None) -> None:
        store, s = reader.store, reader.store.settings
        self.reader, self.room_id, self.needs, self.cache = reader, room_id, needs, cache
        self.as_of = _int(clock_h.get("applied_ms"))
        top_now = max((r[2] for r in needs), default=0)
        # Settled: older than the room's newest event, or than the stream clock minus the
        # grace after which events count as late (a silent room gets no new old data either),
        # minus settle_ms.
        newest = [t for t in (state.last_event_ms, _int(clock_h.get("event_ms"))) if t]
        limit = None
        if state.last_event_ms is not None:
            limit = max(state.last_event_ms, (newest[-1] - s.grace_s * 1000) if newest else 0)
            limit -= reader.settle_ms
        bms, cms = s.bucket_ms, s.coarse_ms
        wanted: dict[Request, NeedLike] = dict(needs)
        for (per, window, now), need in needs.items():
            if per == "room" and window.strip() != "broadcast" and ONLINE in kinds_for(
                    need.kpis, ROOM_KPI_KINDS, K.ROOM_HLLS):
                wanted.setdefault((_ONLINE, "broadcast", now), Need(frozenset()))
        self.plans: dict[Request, tuple[SegKey, WindowPlan]] = {}
        self.jobs: dict[SegKey, Job] = {}
        fetch: set[BucketRef] = set()
        for req in wanted:
            _, window, now = req
            start, end = window_span(window, state, first_ms, now, bms)
            plan = store._plan(start, end, now, store.anchoring(window, state, start, end))
            seg_key = (window.strip(), now - top_now)
            self.plans[req] = (seg_key, plan)
            if seg_key in self.jobs:
                continue
            whole = plan_ranges(plan.fine, plan.coarse, bms, cms)
            settled = settled_part(whole, limit, bms, cms)
            open_ = minus(whole, settled, bms, cms)
            seg = cache.segments.get(seg_key)
            entering: list[BucketRef] = []
            leaving: list[BucketRef] = []
            if seg is not None and seg.settled != settled:
                entering = minus(settled, seg.settled, bms, cms)
                leaving = minus(seg.settled, settled, bms, cms)
            if seg is None or len(entering) + len(leaving) >= max(1, size(settled, bms, cms)):
                seg = cache.segments[seg_key] = Segment()  # cheaper to read it all again
                entering, leaving = minus(settled, seg.settled, bms, cms), []
            seg.settled = settled
            seg.move(whole, bms, cms)
            self.jobs[seg_key] = (seg, entering, leaving, open_, plan)
            fetch.update(entering, leaving, open_)
        # Which levels of each window's sums this tick's requests read ("r" room, "s" sources,
        # "p" products): the open part is merged for those only (streams.kpi.sums.merged).
        levels: dict[SegKey, set[str]] = {}
        for req, (seg_key, _) in self.plans.items():
            levels.setdefault(seg_key, set()).update(_LEVELS[req[0]])
        self.levels = {k: frozenset(v) for k, v in levels.items()}
        self.all_levels = frozenset().union(*self.levels.values())
        self.order = sorted(fetch)
        self.hkeys = [store.keys.bucket(room_id, res, b) for res, b in self.order]
        self.want_names = any(per == "product" for per, _, _ in needs) and (
            cache.names is None or cache.pin_ts != state_h.get("pin_ts"))
        self.pin_ts = state_h.get("pin_ts")

    def take_buckets(self, hashes: Sequence[BucketHash], names: dict[str, str] | None
                     ) -> list[list[str]]:
        """Slide the sums with the buckets read; return the PFCOUNT groups still to read."""
        cache, keys, room_id = self.cache, self.reader.store.keys, self.room_id
        stats = self.reader.stats
        if names is not None:
            cache.names, cache.pin_ts = names, self.pin_ts
        stats.buckets += len(self.order)
        got = {rb: parse_bucket(h) for rb, h in zip(self.order, hashes, strict=True)}
        for seg, entering, leaving, _, _ in self.jobs.values():
            for rb in entering:
                seg.slide(rb, got[rb], 1)
            for rb in leaving:
                seg.slide(rb, got[rb], -1)
        # window sums: the settled part plus the open buckets (summed once per distinct set)
        self.sums: dict[SegKey, tuple[Sums, Segment, OpenPart]] = {}
        opens: dict[tuple[BucketRef, ...], tuple[list[Sums], set[BucketRef],
                                                 dict[str, set[BucketRef]]]] = {}
        levels = self.levels
        for seg_key, (seg, _, _, open_, _) in self.jobs.items():
            key = tuple(open_)
            if key not in opens:
                full = [rb for rb in open_ if not got[rb].empty]
                where: dict[str, set[BucketRef]] = {}
                if "p" in self.all_levels:
                    for rb in full:
                        for product in got[rb].products:
                            where.setdefault(product, set()).add(rb)
                # one Sums of the open buckets (merged() only reads it: one bucket is itself)
                open_sum = [] if not full else [got[full[0]]] if len(full) == 1 else \
                    [merged(Sums(), [got[rb] for rb in full], self.all_levels)]
                opens[key] = (open_sum, set(full), where)
            extra, present, where = opens[key]
            self.sums[seg_key] = (merged(seg.total, extra, levels[seg_key]), seg,
                                  (present, where))
        # distinct counts: reused while their inputs hold, the others read in one pipeline
        counts: dict[HllKey, int] = {}
        self.counts = counts
        # (count, PFCOUNT keys, plan key and counter signature to cache the count under)
        self.misses: list[tuple[HllKey, list[str], PlanKey | None, tuple[int, ...]]] = []
        self.members: dict[Request, list[Member]] = {}
        self.reused: set[tuple[SegKey, str]] = set()  # (segment, product) results still valid
        top_n = self.reader.store.settings.top_n_products
        for req, need in self.needs.items():
            per = req[0]
            seg_key = self.plans[req][0]
            total, seg, (open_present, open_where) = self.sums[seg_key]
            members: list[Member]
            if per == "room":
                members = [("", None, total.room, kinds_for(
                    need.kpis, ROOM_KPI_KINDS, K.ROOM_HLLS) - {ONLINE}, ROOM_KIND_COUNTERS)]
            elif per == "product":
                # as KpiStoreBase.product_kpis: net GMV, then clicks, then exposures, then id;
                # the keys built inline (two calls a product were a twentieth of a tick)
                ranked = sorted([(c.get("gr", 0) - c.get("gp", 0), -c.get("clk", 0),
                                  -c.get("exp", 0), p) for p, c in total.products.items()])
                top = [r[3] for r in ranked[:top_n]]
                if need.products is not None:
                    top = [p for p in top if p in need.products]
                kinds = kinds_for(need.kpis, PRODUCT_KPI_KINDS, K.PRODUCT_HLLS) - {ONLINE}
                members = [(pid, pid, total.products[pid], kinds, PRODUCT_KIND_COUNTERS)
                           for pid in top]
            else:
                members = []
            self.members[req] = members
            for member, pid, counters, kinds, table in members:
                last = cache.results.get((seg_key, per, member))
                if pid is not None and last is not None and last[1] == counters \
                        and last[2] == need.kpis and slid_past(seg, last[0], got,
                                                               _product_counters(pid)):
                    # same events in the window (same counters, and a slide only dropped
                    # buckets without the product): same counts and KPIs (finish). On the tick
                    # where every window slides a bucket, this spares most products.
                    self.reused.add((seg_key, pid))
                    continue
                counters_of: Callable[[Sums], dict[str, int] | None] = \
                    _room_counters if pid is None else _product_counters(pid)
                for kind in kinds:
                    hkey = (seg_key, per, member, kind)
                    if hkey in counts:
                        continue
                    sig = tuple(counters.get(c, 0) for c in table[kind])
                    n = count_hit(cache, seg, hkey, sig, got, counters_of, table[kind])
                    if n is not None:
                        counts[hkey] = n
                        stats.hll_hits += 1
                        continue
                    counts[hkey] = -1
                    if pid is None:
                        group = [keys.hll(room_id, res, b, kind)
                                 for res, b in sorted(seg.present | open_present)]
                    else:
                        buckets = seg.where.get(pid, set()) | open_where.get(pid, set())
                        group = [keys.product_hll(room_id, res, b, kind, pid)
                                 for res, b in sorted(buckets)]
                    self.misses.append((hkey, group, seg.plan_key, sig))
        stats.pfcounts += len(self.misses)
        return [g for _, g, _, _ in self.misses]

    def finish(self, values: list[int]) -> dict[Request, Rows]:
        """The rows, with only the wanted KPIs (the others lack their counts)."""
        cache, counts, room_id = self.cache, self.counts, self.room_id
        for (hkey, _, plan_key, sig), n in zip(self.misses, values, strict=True):
            counts[hkey] = n
            cache.hll[hkey] = (plan_key, sig, n)
        results: dict[Request, Rows] = {}
        for req, need in self.needs.items():
            per, window, now = req
            seg_key, plan = self.plans[req]
            total, seg, _ = self.sums[seg_key]
            # not validated: the fields are the plan's ints (a tick builds ~10 a room)
            info = WindowInfo.model_construct(window=window, start_ms=plan.start_ms,
                                              end_ms=plan.end_ms, as_of_ms=self.as_of)
            if per == "room":
                online = 0
                if ONLINE in kinds_for(need.kpis, ROOM_KPI_KINDS, K.ROOM_HLLS):
                    b = total if window.strip() == "broadcast" else \
                        self.sums[self.plans[(_ONLINE, "broadcast", now)][0]][0]
                    online = b.room.get("ent", 0) - b.room.get("lv", 0)
                distinct = {k: counts[(seg_key, per, "", k)] for k in self.members[req][0][3]}
                key = (seg_key, per, "")
                last = cache.results.get(key)
                if last is not None and last[1] == (total.room, distinct, online) \
                        and last[2] == need.kpis:
                    kpis = last[3]
                else:
                    kpis = _only(room_kpis(room_agg(total.room, distinct, online), need.kpis),
                                 need.kpis)
                    cache.results[key] = (None, (dict(total.room), distinct, online), need.kpis,
                                          kpis)
                results[req] = WindowRow(room_id, info, kpis)
            elif per == "product":
                names = cache.names or {}
                out: list[WindowRow] = []
                for pid, _, counters, kinds, _ in self.members[req]:
                    key = (seg_key, per, pid)
                    last = cache.results.get(key)
                    if last is not None and (seg_key, pid) in self.reused:
                        kpis = last[3]
                        if last[0] != seg.plan_key:
                            cache.results[key] = (seg.plan_key, last[1], last[2], kpis)
                    else:
                        distinct = {k: counts[(seg_key, per, pid, k)] for k in kinds}
                        kpis = _only(product_kpis(product_agg(counters, distinct), need.kpis),
                                     need.kpis)
                        # a copy: the sums are updated in place next tick
                        cache.results[key] = (seg.plan_key, dict(counters), need.kpis, kpis)
                    out.append(WindowRow(room_id, info, kpis, product_id=pid,
                                         product_name=names.get(pid)))
                results[req] = out
            else:
                all_entries = total.room.get("ent", 0)
                results[req] = [WindowRow(
                    room_id, info, _only(source_kpis(source_agg(c, all_entries)), need.kpis),
                    source=src) for src, c in sorted(total.sources.items())]
        # what no request used this tick is stale (a rule or the stage changed): drop it
        for stale in [k for k in cache.segments if k not in self.jobs]:
            del cache.segments[stale]
        if len(cache.hll) > 8 * len(counts) + 64:
            cache.hll = {k: v for k, v in cache.hll.items() if k in counts}
        if len(cache.results) > 2 * len(self.needs) * (self.reader.store.settings.top_n_products
                                                        + 1):
            cache.results.clear()
        return results


def _room_counters(bucket: Sums) -> dict[str, int]:
    return bucket.room


def _product_counters(pid: str) -> Callable[[Sums], dict[str, int] | None]:
    return lambda bucket: bucket.products.get(pid)


def _only(kpis: Mapping[str, KpiValue], wanted: frozenset[str] | None
          ) -> dict[str, KpiValue]:
    if wanted is None:
        return {str(k): v for k, v in kpis.items()}
    return {str(k): v for k, v in kpis.items() if str(k) in wanted}


def _int(v: Any) -> int | None:
    return None if v is None or v == "" else int(v)
