"""RoomWindowReader: every window one room's alert rules need, in three round trips per tick.

The plain store reads (`room_kpis`, `product_kpis`, ...) re-read every bucket of a window and
count every distinct kind on every call: exact, and fine for one API request, but an alert
evaluation over 1,000 rooms asks for ~6 windows per room every second. This reader shares one
read of each bucket between all the windows of a tick, keeps per window the sum of its
*settled* buckets (older than the room's newest event minus `settle_ms`) and slides it as the
window moves (add the buckets that enter, subtract those that leave), counts only the
HyperLogLog kinds the wanted KPIs use, and re-counts a kind only when its window moved or the
counters that always move with it (streams/kpi/needs.py) changed.

Staleness: a late event landing in a settled bucket reaches these sums when the room's cache is
rebuilt, every `refresh_ms` (jittered per room); the store's own reads (API, console) stay
exact. Memory: `max_rooms` rooms are cached (least recently read dropped first).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from schemas.kpis import RoomState
from streams.kpi.roomcache import Need, NeedLike, ReadStats, RoomCache, WindowRow
from streams.kpi.roomjob import RoomJob, Rows
from streams.kpi.sums import BucketHash

if TYPE_CHECKING:
    from streams.kpi.store_base import KpiStoreBase

__all__ = ["Need", "RoomWindowReader", "WindowRow"]

Request = tuple[str, str, int]  # (per: room | product | source, window, now_ms)
# What `states()` read, handed back to `read_many`: state hashes, the clock hash, the states
StatesRead = tuple[list[dict[str, str]], dict[str, str], list[RoomState | None]]


class RoomWindowReader:
    def __init__(self, store: KpiStoreBase, *, settle_ms: int = 15_000, refresh_ms: int = 300_000,
                 max_rooms: int = 10_000, wall: Callable[[], float] = time.monotonic) -> None:
        self.store = store  # its fetch primitives
        self.settle_ms = settle_ms
        self.refresh_ms = refresh_ms
        self.max_rooms = max_rooms
        self.wall = wall
        self.stats = ReadStats()
        self._rooms: OrderedDict[str, RoomCache] = OrderedDict()

    def forget(self, room_id: str | None = None) -> None:
        if room_id is None:
            self._rooms.clear()
        else:
            self._rooms.pop(room_id, None)

    def _cache(self, room_id: str, first_ms: int | None) -> RoomCache:
        now = self.wall()
        c = self._rooms.get(room_id)
        if c is None or now >= c.expires or c.first_ms != first_ms:
            # Jitter spreads the rebuilds of rooms first read in the same tick.
            jitter = 0.5 + (zlib.crc32(room_id.encode()) % 1000) / 2000
            expires = now + self.refresh_ms / 1000 * jitter
            c = RoomCache(expires, first_ms) if c is None else c.renewed(expires, first_ms)
            self._rooms[room_id] = c
            while len(self._rooms) > self.max_rooms:
                self._rooms.popitem(last=False)
        self._rooms.move_to_end(room_id)
        return c

    async def _raw_hashes(self, keys: list[str]) -> Sequence[BucketHash]:
        """Bucket hashes as the client returns them (bytes are parsed by parse_bucket: the
        store's decode-everything read costs more than the rest of a tick)."""
        raw_read = getattr(self.store, "hgetall_flat", None)  # the Redis stores
        if raw_read is None:
            return await self.store._hgetall_many(keys)
        raw: list[Any] = await raw_read(keys)
        return raw

    async def room_ids(self) -> list[str]:
        """Every live room id, most recently active first (the store's live-room index)."""
        return await self.store.live_room_ids()

    async def states(self, ids: list[str]) -> tuple[list[RoomState | None], StatesRead]:
        """The rooms' states (None: gone) in one pipelined read, and what `read_many` needs of
        that read so it does not read the states again."""
        from streams.kpi.store_base import parse_state  # the store owns the state format

        store = self.store
        *hashes, clock_h = await store._hgetall_many([store.keys.state(r) for r in ids]
                                                     + [store.keys.clock])
        states = [parse_state(r, h) if h else None for r, h in zip(ids, hashes, strict=True)]
        return states, (hashes, clock_h, states)

    async def read(self, room_id: str, needs: Mapping[Request, NeedLike]
                   ) -> tuple[RoomState | None, dict[Request, Rows]]:
        return (await self.read_many([(room_id, needs)]))[0]

    async def read_many(self, rooms: Sequence[tuple[str, Mapping[Request, NeedLike]]],
                        read: StatesRead | None = None
                        ) -> list[tuple[RoomState | None, dict[Request, Rows]]]:
        """Several rooms in three pipelined reads in all: every state (and the clock), every
        bucket, every distinct count not cached. redis-py spends ~70 us of CPU per round trip,
        more than a room's own work, so rooms share them. `read`: what `states()` returned for
        these very rooms (in order), to skip reading them again."""
        store, keys = self.store, self.store.keys
        self.stats.rooms += len(rooms)
        if read is None:
            _, read = await self.states([room_id for room_id, _ in rooms])
        raw, clock_h, parsed = read
        out: list[tuple[RoomState | None, dict[Request, Rows]]] = []
        jobs: list[tuple[int, RoomJob]] = []
        for i, ((room_id, needs), state_h, state) in enumerate(
                zip(rooms, raw, parsed, strict=True)):
            if state is None:
                self.forget(room_id)
                out.append((None, {}))
                continue
            out.append((state, {}))
            first_ms = _int(state_h.get("first_ms"))
            job = RoomJob(self, room_id, needs, state, state_h, clock_h,
                          self._cache(room_id, first_ms), first_ms)
            jobs.append((i, job))
        hkeys = [k for _, job in jobs for k in job.hkeys]
        hashes = await self._raw_hashes(hkeys) if hkeys else []
        name_jobs = [job for _, job in jobs if job.want_names]
        names = await store._hgetall_many([keys.product_names(j.room_id) for j in name_jobs]) \
            if name_jobs else []
        names_of = {id(j): n for j, n in zip(name_jobs, names, strict=True)}
        groups: list[list[list[str]]] = []
        at = 0
        slice_ = _Slice()
        for _, job in jobs:
            n = len(job.hkeys)
            groups.append(job.take_buckets(hashes[at:at + n], names_of.get(id(job))))
            at += n
            await slice_.maybe_yield()
        flat = [g for gs in groups for g in gs]
        values = await store._pfcount_many(flat) if flat else []
        at = 0
        for (i, job), gs in zip(jobs, groups, strict=True):
            out[i] = (out[i][0], job.finish(values[at:at + len(gs)]))
            at += len(gs)
            await slice_.maybe_yield()
        return out


class _Slice:
    """Yields to the event loop once `budget_s` of CPU has passed since the last yield: a room
    with hundreds of products is ~10-20 ms of summing and formulas, and a chunk of them in one
    go held /healthz for 200-330 ms (roompulse_worker_loop_stalls_total named these loops)."""

    def __init__(self, budget_s: float = 0.01) -> None:
        self.budget_s = budget_s
        self.since = time.perf_counter()

    async def maybe_yield(self) -> None:
        if time.perf_counter() - self.since >= self.budget_s:
            await asyncio.sleep(0)
            self.since = time.perf_counter()


def _int(v: Any) -> int | None:
    return None if v is None or v == "" else int(v)
