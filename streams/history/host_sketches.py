"""Per-host distinct users of a broadcast, as HyperLogLogs in Redis, for reports from history.

A minute row holds each minute's own distinct counts, so adding a host's minutes counts a viewer
once per minute. Instead, the history writer merges each closed minute's fine-bucket HLLs (the
KPI store's, per room and kind) into one sketch per broadcast, host and kind (PFMERGE), and a
summary carries their PFCOUNTs. PFMERGE keeps each register's maximum: merging a minute again (a
rewrite pass, a restarted writer, a retry after a failure) changes nothing, and a late event's
user is added by the next merge of its minute.

Cost: the merges of a pass go in one pipeline (split every MAX_COMMANDS), plus one per summary
(PFCOUNTs of that broadcast's sketches, after its pending merges). Only minutes with a host
are merged; the writer names which (new ones, the one written for the last time, all of them
when a summary is due). A failure is counted and logged: the summary keeps the counts read
before, and the minutes are merged again on a later pass.

Sketches live `ttl_s` (the KPI store's coarse TTL) from their last merge or read: as long as the
broadcast figures beside them can reach back, and read every summary while the broadcast is
live, so a host who left early keeps his. Every key is the room's (its hash tag): a Redis
Cluster runs each command on the room's slot.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from streams.history.snapshot import MINUTE_MS
from streams.kpi import keys as K
from streams.kpi.buckets import ceil_to
from streams.kpi.store_base import KpiStoreBase
from streams.kpi.store_redis import RedisKpiStore

log = logging.getLogger(__name__)
# Summary key -> the KPI store's HLL kind (what segments.Segments counts from the events).
KINDS = {"uv": K.HLL_UV, "interacting": K.HLL_INTERACT, "buyers": K.HLL_BUY}
MAX_COMMANDS = 2000  # per pipeline: redis-py packs a pipeline in one go on the event loop


class HostSketchMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.minutes = Counter(
            "roompulse_history_host_sketch_minutes", "host minutes merged into the host's "
            "sketches (again when rewritten), or not sketched: the broadcast already had "
            "max_hosts hosts", ["outcome"], registry=registry)
        self.failures = Counter("roompulse_history_host_sketch_failures",
                                "host sketch pipelines that failed (the minutes are merged again "
                                "later; a summary keeps the counts read before)",
                                registry=registry)
        self.sketches = Gauge("roompulse_history_host_sketches",
                              "(broadcast, host) pairs sketched, of the live broadcasts",
                              registry=registry)


class HostSketches:
    """The writer's side: queue a room's minutes (`add`), run them (`flush`), read counts."""

    def __init__(self, redis: Any, keys: K.Keys, bucket_ms: int, ttl_s: int, max_hosts: int,
                 registry: CollectorRegistry) -> None:
        self.redis, self.keys, self.bucket_ms = redis, keys, bucket_ms
        self.ttl_s, self.max_hosts = ttl_s, max_hosts
        self.metrics = HostSketchMetrics(registry)
        self._pending: list[tuple[str, list[str]]] = []  # (sketch, fine HLLs to merge into it)
        self._hosts: dict[str, dict[str, None]] = {}  # broadcast id -> its hosts, in order
        self._last: dict[str, dict[str, dict[str, int]]] = {}  # broadcast id -> counts read

    @classmethod
    def for_store(cls, kpis: KpiStoreBase, enabled: bool, max_hosts: int,
                  registry: CollectorRegistry) -> HostSketches | None:
        """Sketches over a Redis (or Cluster) KPI store; None when off or on any other store
        (the in-memory one: reports then add the minutes' distinct counts)."""
        if not enabled or not isinstance(kpis, RedisKpiStore):
            return None
        s = kpis.settings
        return cls(kpis.redis, kpis.keys, s.bucket_ms, s.coarse_ttl_s, max_hosts, registry)

    def remember(self, bid: str, host_ids: list[str]) -> None:
        """Hosts of the broadcast's stored history (a restarted or new leader: see
        HistoryStore.sketched_hosts): their sketches are still in Redis and every summary
        counts them."""
        hosts = self._hosts.setdefault(bid, {})
        for hid in host_ids:
            if len(hosts) < self.max_hosts:
                hosts.setdefault(hid)

    def add(self, room_id: str, broadcast_start_ms: int, bid: str,
            rows: list[dict[str, Any]]) -> None:
        """Queue the merge of each row's minute into the sketches of the host it names."""
        hosts = self._hosts.setdefault(bid, {})
        buckets: dict[str, list[int]] = {}
        for row in rows:
            hid = row.get("host_id")
            if hid is None:
                continue
            if hid not in hosts and len(hosts) >= self.max_hosts:
                self.metrics.minutes.labels("over_bound").inc()
                continue
            hosts.setdefault(hid)
            m = row["minute_ms"]
            # a fine bucket belongs to the minute it starts in (10 s buckets: six a minute)
            buckets.setdefault(hid, []).extend(
                range(ceil_to(m, self.bucket_ms), m + MINUTE_MS, self.bucket_ms))
            self.metrics.minutes.labels("merged").inc()
        for hid, bs in buckets.items():
            for kind in KINDS.values():
                self._pending.append((
                    self.keys.host_sketch(room_id, broadcast_start_ms, kind, hid),
                    [self.keys.hll(room_id, K.FINE, b, kind) for b in bs]))

    async def flush(self, count: tuple[str, int, str] | None = None
                    ) -> dict[str, dict[str, int]] | None:
        """Run the queued merges; with `count` (room id, broadcast start, broadcast id), then
        read that broadcast's sketches: host id -> {uv, interacting, buyers}, or what was read
        before when this fails (None: nothing read yet)."""
        pending, self._pending = self._pending, []
        reads: list[tuple[str, str, str]] = []  # (host, summary key, sketch)
        if count is not None:
            room_id, start, bid = count
            reads = [(hid, name, self.keys.host_sketch(room_id, start, kind, hid))
                     for hid in self._hosts.get(bid, ()) for name, kind in KINDS.items()]
        commands: list[tuple[Any, ...]] = []
        for dest, sources in pending:
            commands += [("PFMERGE", dest, *sources), ("EXPIRE", dest, self.ttl_s)]
        for _, _, key in reads:  # read every summary: a host who left long ago stays
            commands += [("PFCOUNT", key), ("EXPIRE", key, self.ttl_s)]
        try:
            replies = await self._run(commands)
        except Exception as exc:  # noqa: BLE001 - history's sketches are optional
            self.metrics.failures.inc()
            log.warning("history: host sketches not merged: %s", type(exc).__name__)
            return self._last.get(count[2]) if count is not None else None
        if count is None:
            return None
        counts: dict[str, dict[str, int]] = {}
        tail = replies[len(replies) - 2 * len(reads):][::2]
        for (hid, name, _), n in zip(reads, tail, strict=True):
            counts.setdefault(hid, {})[name] = int(n)
        self._last[count[2]] = counts
        return counts

    async def _run(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        replies: list[Any] = []
        for i in range(0, len(commands), MAX_COMMANDS):
            if i:
                await asyncio.sleep(0)  # let probes and the API in between pipelines
            pipe = self.redis.pipeline(transaction=False)
            for cmd in commands[i:i + MAX_COMMANDS]:
                # execute_command: redis-py's cluster pipeline refuses multi-key PFMERGE;
                # every key of one command is one room's, so one slot.
                pipe.execute_command(*cmd)
            replies += await pipe.execute()
        return replies

    def forget(self, live: set[str]) -> None:
        """Once a pass: drop what is kept of broadcasts no longer live (Redis expires their
        sketches)."""
        for bid in [b for b in self._hosts if b not in live]:
            del self._hosts[bid]
            self._last.pop(bid, None)
        self.metrics.sketches.set(sum(map(len, self._hosts.values())))
