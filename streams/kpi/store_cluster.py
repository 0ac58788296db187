"""ClusterKpiStore: the KPI store on a Redis Cluster, applying a batch as idempotent steps.

Reads are the single-node store's (every read of a room stays in the room's slot; pipelines of
many rooms are split by node by redis-py). The apply runs the steps of apply_cluster_lua.py;
each is safe to repeat, so a failure anywhere is retried from the start (see there and
docs/worker.md, "Redis Cluster").
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

import orjson
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from streams.kpi.apply_cluster_lua import BEGIN_LUA, BRAND_LUA, CLOCK_LUA, COMMIT_LUA, ROOM_LUA
from streams.kpi.config import KpiSettings
from streams.kpi.store_redis import RedisKpiStore, _s

log = logging.getLogger(__name__)
SCRIPTS = {"begin": BEGIN_LUA, "room": ROOM_LUA, "brand": BRAND_LUA, "clock": CLOCK_LUA,
           "commit": COMMIT_LUA}
# The payload's room-level parts, split by room, and the constants every room step needs.
ROOM_PARTS = ("st", "pn", "h", "p", "fe")
ROOM_CONSTS = ("clk", "cms", "bms", "edges", "rk", "pk", "cttl", "room_ttl", "buy_pre",
               "pur_pre")
REPLICAS_CHECK_S = 5.0  # how long a primary's count of connected replicas is trusted
BRAND_CONSTS = ("win7", "win30", "hist_ms", "hist_ttl", "buy_pre", "pur_pre", "kp", "max_pur",
                "fttl", "cttl", "cms", "bms")


def tag_of(key: str) -> str:
    """The hash tag of a room key `<prefix>:{room}:...` (ids cannot contain braces)."""
    start = key.index("{") + 1
    return key[start:key.index("}", start)]


def split_rooms(ops: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """room id -> that room's entries of each room-level part of the payload."""
    rooms: dict[str, dict[str, list[Any]]] = defaultdict(
        lambda: {p: [] for p in ROOM_PARTS})
    for part in ROOM_PARTS:
        for entry in ops[part]:
            rooms[tag_of(entry[0])][part].append(entry)
    return rooms


class ClusterKpiStore(RedisKpiStore):
    """RedisKpiStore whose apply works across the slots of a Redis Cluster."""

    read_scripts = False  # a batch read spans slots: pipelined, command by command

    def __init__(self, redis: RedisCluster, settings: KpiSettings, wait_replicas: int = 0,
                 wait_timeout_ms: int = 1000) -> None:
        if "{" in settings.key_prefix or "}" in settings.key_prefix:
            raise ValueError("on a Redis Cluster the key prefix cannot contain '{' or '}'")
        super().__init__(redis, settings)  # type: ignore[arg-type]  # same command API
        self.cluster = redis
        self.wait_replicas, self.wait_timeout_ms = wait_replicas, wait_timeout_ms
        self._sha: dict[str, str] = {}
        self._replicas: dict[str, tuple[float, int]] = {}  # node -> (checked at, connected)

    async def _load_scripts(self) -> None:
        # On every primary: a step may land on any of them (and on a promoted replica later).
        for name, src in SCRIPTS.items():
            replies = await self.cluster.execute_command(
                "SCRIPT LOAD", src, target_nodes=self.cluster.get_primaries())
            sha = next(iter(replies.values())) if isinstance(replies, dict) else replies
            self._sha[name] = sha.decode() if isinstance(sha, bytes) else sha

    async def _steps(self, calls: list[tuple[str, str, Any]]) -> list[Any]:
        """Run (script, key, payload) calls in one cluster pipeline; replies in order."""
        if not calls:
            return []
        if not self._sha:
            await self._load_scripts()
        for attempt in (1, 2):
            pipe = self.cluster.pipeline(transaction=False)
            for name, key, payload in calls:
                args = payload if isinstance(payload, list) else [orjson.dumps(payload)]
                pipe.execute_command("EVALSHA", self._sha[name], 1, key, *args)
            try:
                return await pipe.execute()
            except NoScriptError:
                if attempt == 2:
                    raise
                # A restarted or newly promoted node lost its script cache; steps are
                # idempotent, so running them again is safe.
                await self._load_scripts()
        raise AssertionError("unreachable")

    async def _apply_ops(self, ops: dict[str, Any]) -> Any:
        okey, ofl = ops["off"]
        (begin,) = await self._steps([("begin", okey, {"off": ops["off"], "n": ops["n"]})])
        if int(begin[0]) != 1:
            return begin
        offs = [[ofl[i], ofl[i + 2]] for i in range(0, len(ofl), 3)]
        consts = {k: ops[k] for k in ROOM_CONSTS}
        rooms = split_rooms(ops)
        room_ids = sorted(rooms)
        replies = await self._steps([
            ("room", self.keys.state(r), {**rooms[r], **consts, "off": offs}) for r in room_ids])
        brand_of_room: dict[str, str] = {}
        for room, reply in zip(room_ids, replies, strict=True):
            if int(reply[0]) == -3:
                return reply
            brand_of_room[room] = _s(reply[1])
        orders: dict[str, list[Any]] = defaultdict(list)
        for b in ops["buy"]:
            brand = b[3] or brand_of_room.get(b[5]) or b[5]
            orders[brand].append([*b[:3], brand, *b[4:]])
        bconsts = {k: ops[k] for k in BRAND_CONSTS}
        brands = sorted(orders)
        marks: dict[str, set[str]] = defaultdict(set)
        ttls: dict[str, int] = {}
        for reply in await self._steps([
                ("brand", self.keys.buyers(b), {**bconsts, "brand": b, "buy": orders[b]})
                for b in brands]):
            if int(reply[0]) == -3:
                return reply
            rep, rep_ttl = orjson.loads(reply[1])
            for key, users in (rep or {}).items():
                marks[key].update(users)
                ttls[key] = int(rep_ttl[key])
        await self._idempotent_writes(ops, marks, ttls)
        if self.wait_replicas:
            await self._wait([okey, *(self.keys.state(r) for r in room_ids),
                              *(self.keys.buyers(b) for b in brands), *marks])
        (commit,) = await self._steps([("commit", okey, [orjson.dumps(ofl)])])
        return commit

    async def _idempotent_writes(self, ops: dict[str, Any], marks: dict[str, set[str]],
                                 ttls: dict[str, int]) -> None:
        """Repurchase marks, live rooms and the clock: safe to write again on a retry."""
        pipe = self.cluster.pipeline(transaction=False)
        for key, users in marks.items():
            pipe.pfadd(key, *sorted(users))
            pipe.expire(key, ttls[key])
        live, rooms, cutoff = ops["rooms"]
        applied_ms = ops["clk"][2]
        if rooms:
            pipe.zadd(live, dict.fromkeys(rooms, int(applied_ms)))
        pipe.zremrangebyscore(live, "-inf", f"({cutoff}")
        await pipe.execute()
        clock_key, event_ms, _ = ops["clk"]
        await self._steps([("clock", clock_key, [event_ms, applied_ms])])

    async def _wait(self, keys: list[str]) -> None:
        """WAIT on every primary this batch wrote to, before the offsets move: a failover to
        a replica then keeps every write the committed offsets count (see docs/worker.md).
        A primary with fewer connected replicas is waited for by those it has (none: no
        failover can happen, nothing to wait for), so a lost replica does not stall the loop."""
        nodes = {n.name: n for n in (self.cluster.get_node_from_key(k) for k in keys)
                 if n is not None}
        for node in nodes.values():
            need = min(self.wait_replicas, await self._connected_replicas(node))
            if not need:
                continue
            got = await self.cluster.execute_command(
                "WAIT", need, self.wait_timeout_ms, target_nodes=node)
            if int(got) < need:
                log.warning("Redis Cluster node %s acknowledged a batch on %s of %d replicas "
                            "within %d ms; a failover now could lose it", node.name, got,
                            need, self.wait_timeout_ms)

    async def _connected_replicas(self, node: Any) -> int:
        at, n = self._replicas.get(node.name, (0.0, 0))
        if time.monotonic() - at > REPLICAS_CHECK_S:
            info = await self.cluster.execute_command("INFO", "replication", target_nodes=node)
            if isinstance(info, dict) and node.name in info:  # keyed by node on some versions
                info = info[node.name]
            n = int(info.get("connected_slaves", 0)) if isinstance(info, dict) else 0
            self._replicas[node.name] = (time.monotonic(), n)
        return n


def kpi_store(redis: Any, settings: KpiSettings, wait_replicas: int = 0) -> RedisKpiStore:
    """The store for `redis`: the cluster one for a RedisCluster client, else single-node."""
    if isinstance(redis, RedisCluster):
        return ClusterKpiStore(redis, settings, wait_replicas)
    return RedisKpiStore(redis, settings)
