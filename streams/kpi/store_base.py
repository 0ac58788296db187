"""The KpiStore read API, shared by the Redis and in-memory stores over a few fetch primitives."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from schemas.kpis import (
    ProductSnapshot,
    RoomSnapshot,
    RoomState,
    SourceSnapshot,
    WindowInfo,
    parse_window,
)
from streams.kpi import keys as K
from streams.kpi.aggregates import product_agg, room_agg, source_agg, split_fields
from streams.kpi.buckets import WindowPlan, plan_anchored, plan_window
from streams.kpi.config import KpiSettings
from streams.kpi.fold import Delta
from streams.kpi.formulas import product_kpis, room_kpis, source_kpis
from streams.kpi.keys import Keys, parse_offset_field
from streams.kpi.ops import build_ops, remember_ttls
from streams.kpi.windows import window_span

BUILD_IN_THREAD = 1_000  # counters + distinct-user sets above which build_ops leaves the loop


class Outcome(StrEnum):
    APPLIED = "applied"
    REPLAY = "replay"
    MOVED = "moved"
    LOST = "lost"
    REFUSED = "refused"
    CUT = "cut"  # Redis Cluster: re-read the named partitions alone, cut where a batch was


@dataclass(frozen=True, slots=True)
class ApplyResult:
    outcome: Outcome
    detail: str = ""

    @classmethod
    def parse(cls, raw: Any) -> ApplyResult:
        """The apply script's reply ({code, detail...}) as a result."""
        code, *rest = raw if isinstance(raw, (list, tuple)) else [raw]
        detail = " ".join(_s(x) for x in rest if x not in (None, b"", ""))
        outcome = {1: Outcome.APPLIED, 0: Outcome.REPLAY, -1: Outcome.MOVED, -2: Outcome.LOST,
                   -3: Outcome.REFUSED, -4: Outcome.CUT}[int(code)]
        return cls(outcome, detail)

    def __bool__(self) -> bool:
        return self.outcome is Outcome.APPLIED

    def cuts(self) -> dict[tuple[str, int], int]:
        """CUT: partition -> the offset its next batches must not pass (see store_cluster)."""
        words = self.detail.split()
        return {parse_offset_field(f): int(c) for f, c in zip(words[::2], words[1::2],
                                                              strict=True)}


def _s(v: Any) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


def _int(v: Any) -> int | None:
    return None if v is None or v == "" else int(v)


def parse_state(room_id: str, h: dict[str, str]) -> RoomState:
    return RoomState(
        room_id=room_id, brand_id=h.get("brand"), platform=h.get("platform"),
        stage=h.get("stage"), phase=h.get("phase"),
        broadcast_start_ms=_int(h.get("bstart")), broadcast_end_ms=_int(h.get("bend")),
        pinned_product_id=h.get("pin_id"), pinned_product_name=h.get("pin_name"),
        pinned_product_role=h.get("pin_role") or None,  # "" : the pin named no role
        host_id=h.get("host_id"), host_name=h.get("host_name"),
        host_since_ms=_int(h.get("host_ts")),
        last_event_ms=_int(h.get("last_ms")), last_seen_ms=_int(h.get("last_seen")),
    )


class KpiStoreBase(ABC):
    """apply/load_offsets/ping plus every read, over `_apply_ops` and three fetch primitives."""

    # A server-backed store shares its event loop with probes and the API (the worker); the
    # in-memory one runs in backtests and reports, where a thread would only cost.
    build_in_thread = False

    def __init__(self, settings: KpiSettings) -> None:
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        self._expiry_cache: dict[str, int] = {}
        self._applies = 0

    # -- primitives a backend provides ------------------------------------------------------
    @abstractmethod
    async def _apply_ops(self, ops: dict[str, Any]) -> Any:
        """Run the apply script on `ops`; its raw reply (see ApplyResult.parse)."""

    @abstractmethod
    async def _hgetall_many(self, keys: list[str]) -> list[dict[str, str]]: ...

    @abstractmethod
    async def _hmget_many(self, keys: list[str], fields: list[str]) -> list[list[str | None]]: ...

    @abstractmethod
    async def _pfcount_many(self, groups: list[list[str]]) -> list[int]: ...

    @abstractmethod
    async def _smembers(self, key: str) -> set[str]: ...

    @abstractmethod
    async def _zrevrange(self, key: str, limit: int | None) -> list[str]:
        """Members of a ZSET, highest score first, at most `limit`."""

    @abstractmethod
    async def ping(self) -> bool: ...

    # -- write side -------------------------------------------------------------------------
    async def apply(self, delta: Delta, offsets: dict[tuple[str, int], int], group: str,
                    applied_at_ms: int, starts: dict[tuple[str, int], int] | None = None
                    ) -> ApplyResult:
        """Apply a batch and its offsets in one atomic step; nothing is written unless APPLIED.

        `offsets` are the next offsets after the batch; `starts` where it begins (see
        streams.kpi.ops.build_ops). Outcomes: APPLIED, REPLAY (this very batch already landed),
        MOVED (a stored offset is elsewhere: a stale writer or a gap), LOST (a stored offset the
        batch expects is gone: Redis lost its state) and REFUSED (a key has the wrong type).
        """
        self._applies += 1
        if self._applies % 1000 == 0:  # forget keys whose TTL may have run out
            self._expiry_cache = {k: t for k, t in self._expiry_cache.items() if t > applied_at_ms}
        if len(self._expiry_cache) > self.settings.ttl_cache_keys:
            # A forgotten key only costs one more EXPIRE; an unbounded cache costs memory.
            self._expiry_cache.clear()
        args = (delta, offsets, group, applied_at_ms, self.settings, self.keys,
                self._expiry_cache, starts)
        # A big batch's payload (thousands of rooms) is 100+ ms of CPU: in a thread, the event
        # loop (probes, API) gets the GIL back every switch interval instead of waiting it out.
        # Applies are strictly ordered, so nothing else touches the expiry cache meanwhile.
        big = self.build_in_thread and len(delta.counters) + len(delta.members) \
            + sum(map(len, delta.fields.values())) > BUILD_IN_THREAD
        ops = await asyncio.to_thread(build_ops, *args) if big else build_ops(*args)
        result = ApplyResult.parse(await self._apply_ops(ops))
        if result.outcome is Outcome.APPLIED:
            remember_ttls(ops, self._expiry_cache, applied_at_ms)
        return result

    async def load_offsets(self, group: str) -> dict[tuple[str, int], int]:
        (h,) = await self._hgetall_many([self.keys.offsets(group)])
        # On a Cluster the hash also holds batch intents, `i:<topic>:<partition>` (store_cluster).
        return {parse_offset_field(f): int(v) for f, v in h.items() if not f.startswith("i:")}

    # -- read side --------------------------------------------------------------------------
    async def stream_clock_ms(self) -> int | None:
        (h,) = await self._hgetall_many([self.keys.clock])
        return _int(h.get("event_ms"))

    async def live_room_ids(self, limit: int | None = None) -> list[str]:
        """Rooms applied to within the room TTL, most recently active first."""
        return await self._zrevrange(self.keys.live_rooms, limit)

    async def rooms(self, limit: int | None = None, chunk: int = 500) -> list[RoomState]:
        """Every live room's state, sorted by id: read and parsed `chunk` rooms at a time with
        a yield to the event loop in between (20,000 states in one go held it ~200 ms: the
        history writer's pass, the console)."""
        ids = sorted(await self.live_room_ids(limit))
        out: list[RoomState] = []
        for i in range(0, len(ids), chunk):
            part = ids[i:i + chunk]
            hashes = await self._hgetall_many([self.keys.state(r) for r in part])
            out += [parse_state(r, h) for r, h in zip(part, hashes, strict=True) if h]
            if i + chunk < len(ids):
                await asyncio.sleep(0)
        return out

    async def read_hashes(self, keys: list[str]) -> list[dict[str, str]]:
        """Whole hashes by key name ({} for a missing key): streams.kpi.audience_store."""
        return await self._hgetall_many(keys)

    async def room_state(self, room_id: str) -> RoomState | None:
        (h,) = await self._hgetall_many([self.keys.state(room_id)])
        return parse_state(room_id, h) if h else None

    async def _context(self, room_id: str, window: str, now_ms: int | None
                       ) -> tuple[RoomState | None, int | None, int, WindowPlan, WindowInfo]:
        state_h, clock_h = await self._hgetall_many([self.keys.state(room_id), self.keys.clock])
        state = parse_state(room_id, state_h) if state_h else None
        first_ms = _int(state_h.get("first_ms"))
        if now_ms is None:
            now_ms = _int(clock_h.get("event_ms")) or 0
        s = self.settings
        start, end = window_span(window, state, first_ms, now_ms, s.bucket_ms)
        plan = self._plan(start, end, now_ms, self.anchoring(window, state, start, end))
        info = WindowInfo(window=window, start_ms=plan.start_ms, end_ms=plan.end_ms,
                          as_of_ms=_int(clock_h.get("applied_ms")))
        return state, first_ms, now_ms, plan, info

    # How far back from `now` data can exist; reads never plan (or loop over) more than that.
    max_lookback_ms: int | None = None

    def anchoring(self, window: str, state: RoomState | None, start: int,
                  end: int) -> bool | None:
        """None for a rolling window; for one anchored at the broadcast's start (`first:N`,
        `broadcast`), whether its end is one whose fine buckets the store keeps (exact_end)."""
        kind, length = parse_window(window)
        if kind == "rolling" or state is None or state.broadcast_start_ms is None:
            return None
        if kind == "first" and length is not None and end == start + length:
            return length // 1000 in self.settings.anchored_edges_s
        bend = state.broadcast_end_ms
        return bend is not None and end == bend + 1

    def _plan(self, start: int, end: int, now_ms: int,
              anchored: bool | None = None) -> WindowPlan:
        s = self.settings
        too_old = self.max_lookback_ms is not None and start < now_ms - self.max_lookback_ms
        if anchored is not None and not too_old:  # a start past the lookback is gone anyway
            return plan_anchored(start, max(start, end), now_ms, s.bucket_ms, s.coarse_ms,
                                 s.fine_horizon_ms, exact_end=anchored)
        if self.max_lookback_ms is not None:
            start = max(start, now_ms - self.max_lookback_ms)
        return plan_window(start, max(start, end), now_ms, s.bucket_ms, s.coarse_ms,
                           s.fine_horizon_ms)

    def _bucket_keys(self, room_id: str, plan: WindowPlan) -> list[tuple[str, int]]:
        return [(K.FINE, b) for b in plan.fine] + [(K.COARSE, b) for b in plan.coarse]

    async def _sum(self, room_id: str, plan: WindowPlan
                   ) -> tuple[dict[str, int], list[tuple[tuple[str, int], dict[str, str]]]]:
        """Summed fields over the plan's buckets, and the buckets that hold anything."""
        buckets = self._bucket_keys(room_id, plan)
        hashes = await self._hgetall_many([self.keys.bucket(room_id, r, b) for r, b in buckets])
        summed: dict[str, int] = {}
        present: list[tuple[tuple[str, int], dict[str, str]]] = []
        for rb, h in zip(buckets, hashes, strict=True):
            if h:
                present.append((rb, h))
                for f, v in h.items():
                    summed[f] = summed.get(f, 0) + int(v)
        return summed, present

    async def room_kpis(self, room_id: str, window: str, now_ms: int | None = None) -> RoomSnapshot:
        state, first_ms, now_ms, plan, info = await self._context(room_id, window, now_ms)
        summed, present = await self._sum(room_id, plan)
        # Online viewers are broadcast-to-date whatever the window.
        if window.strip() == "broadcast":
            bsum = summed
        else:
            s = self.settings
            start, end = window_span("broadcast", state, first_ms, now_ms, s.bucket_ms)
            bplan = self._plan(start, end, now_ms,
                               self.anchoring("broadcast", state, start, end))
            rows = await self._hmget_many(
                [self.keys.bucket(room_id, r, b) for r, b in self._bucket_keys(room_id, bplan)],
                ["ent", "lv"])
            bsum = {"ent": sum(int(r[0] or 0) for r in rows),
                    "lv": sum(int(r[1] or 0) for r in rows)}
        online = bsum.get("ent", 0) - bsum.get("lv", 0)
        kinds = list(K.ROOM_HLLS)
        groups = [[self.keys.hll(room_id, r, b, kind) for (r, b), _ in present] for kind in kinds]
        counts = await self._pfcount_many(groups)
        split = split_fields(summed)
        agg = room_agg(split.room, dict(zip(kinds, counts, strict=True)), online)
        return RoomSnapshot(room_id=room_id, info=info,
                            kpis={str(k): v for k, v in room_kpis(agg).items()})

    async def product_kpis(self, room_id: str, window: str,
                           now_ms: int | None = None) -> list[ProductSnapshot]:
        _, _, _, plan, info = await self._context(room_id, window, now_ms)
        summed, present = await self._sum(room_id, plan)
        products = split_fields(summed).products

        def rank(pid: str) -> tuple[int, int, int, str]:
            c = products[pid]
            return (-(c.get("gp", 0) - c.get("gr", 0)), -c.get("clk", 0), -c.get("exp", 0), pid)

        top = sorted(products, key=rank)[: self.settings.top_n_products]
        where: dict[str, list[tuple[str, int]]] = {}
        for rb, h in present:  # only buckets where a product has counters can hold its HLLs
            for pid in {f[2:].rpartition(":")[0] for f in h if f.startswith("p:")}:
                where.setdefault(pid, []).append(rb)
        kinds = list(K.PRODUCT_HLLS)
        groups = [[self.keys.product_hll(room_id, r, b, kind, pid) for r, b in where[pid]]
                  for pid in top for kind in kinds]
        counts = await self._pfcount_many(groups)
        (names,) = await self._hgetall_many([self.keys.product_names(room_id)])
        out = []
        for i, pid in enumerate(top):
            distinct = dict(zip(kinds, counts[i * len(kinds):(i + 1) * len(kinds)], strict=True))
            kpis = product_kpis(product_agg(products[pid], distinct))
            out.append(ProductSnapshot(room_id=room_id, product_id=pid, product_name=names.get(pid),
                                       info=info, kpis={str(k): v for k, v in kpis.items()}))
        return out

    async def source_kpis(self, room_id: str, window: str,
                          now_ms: int | None = None) -> list[SourceSnapshot]:
        _, _, _, plan, info = await self._context(room_id, window, now_ms)
        summed, _ = await self._sum(room_id, plan)
        all_entries = summed.get("ent", 0)
        out = []
        for src, c in sorted(split_fields(summed).sources.items()):
            kpis = source_kpis(source_agg(c, all_entries))
            out.append(SourceSnapshot(room_id=room_id, source=src, info=info,
                                      kpis={str(k): v for k, v in kpis.items()}))
        return out

