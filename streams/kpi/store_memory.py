"""InMemoryKpiStore: the same store in process dicts (exact sets, no HLL), for tests/backtests."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from streams.kpi.config import KpiSettings
from streams.kpi.store_base import KpiStoreBase

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never really awaits (every memory-store method) without a loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    coro.close()
    raise RuntimeError("coroutine awaited something; use asyncio.run")


class InMemoryKpiStore(KpiStoreBase):
    """Mirrors the Redis apply script line for line; distinct counts are exact (sets).

    No expiry and no lookback limit (a backtest is bounded by its input), so windows longer than
    the Redis store's coarse TTL (13 h) read more here than there. `ttl` records the TTL each
    key would get.
    Every method is async; `run_sync(store.room_kpis(...))` runs one without an event loop.
    """

    def __init__(self, settings: KpiSettings | None = None) -> None:
        super().__init__(settings or KpiSettings())
        self.hashes: dict[str, dict[str, str]] = {}
        self.sets: dict[str, set[str]] = {}  # HLLs (exact) and the rooms set
        self.zsets: dict[str, dict[str, int]] = {}
        self.ttl: dict[str, int] = {}

    async def ping(self) -> bool:
        return True

    async def _hgetall_many(self, keys: list[str]) -> list[dict[str, str]]:
        return [dict(self.hashes.get(k, {})) for k in keys]

    async def _hmget_many(self, keys: list[str], fields: list[str]) -> list[list[str | None]]:
        return [[self.hashes.get(k, {}).get(f) for f in fields] for k in keys]

    async def _pfcount_many(self, groups: list[list[str]]) -> list[int]:
        return [len(set().union(*(self.sets.get(k, ()) for k in g))) if g else 0 for g in groups]

    async def _smembers(self, key: str) -> set[str]:
        return set(self.sets.get(key, ()))

    async def _zrevrange(self, key: str, limit: int | None) -> list[str]:
        z = self.zsets.get(key, {})
        ranked = sorted(z, key=lambda m: (-z[m], m))
        return ranked if limit is None else ranked[:limit]

    async def _apply_ops(self, p: dict[str, Any]) -> list[Any]:  # long: mirrors the Lua script
        okey, ofl = p["off"]
        stored = self.hashes.get(okey, {})
        replays = fresh = 0
        for f, start, end in zip(ofl[::3], ofl[1::3], ofl[2::3], strict=True):
            cur = int(stored[f]) if f in stored else None
            if start == "":
                if cur is not None and cur > int(end):
                    return [-1, f, str(cur)]
                if cur == int(end) and p["n"] > 0:
                    replays += 1
                else:
                    fresh += 1
            elif cur is None:
                if int(start) >= 0:
                    return [-2, f, ""]
                fresh += 1
            elif cur == int(end) and start != end:
                replays += 1
            elif cur == int(start):
                fresh += 1
            else:
                return [-1, f, str(cur)]
        if replays:
            return [-1, "mixed", ""] if fresh else [0]
        refused = self._check_types(p)
        if refused:
            return [-3, refused, ""]
        for key, first, last, platform, bs, be, stamped, _base in p["st"]:
            h = self.hashes.setdefault(key, {})
            if "first_ms" not in h or int(first) < int(h["first_ms"]):
                h["first_ms"] = first
            if "last_ms" not in h or int(last) > int(h["last_ms"]):
                h["last_ms"] = last
            h["last_seen"] = p["clk"][2]
            if platform:
                h.setdefault("platform", platform)
            bstart = int(h["bstart"]) if "bstart" in h else None
            bend = int(h["bend"]) if "bend" in h else None
            if bs and (bstart is None or int(bs) > bstart):
                h["bstart"], bstart = bs, int(bs)
                if bend is not None and bend < bstart:
                    del h["bend"]
                    bend = None
            if be and (bstart is None or int(be) >= bstart) and (bend is None or int(be) > bend):
                h["bend"] = be
            for u in stamped:
                if u[0] not in h or int(u[1]) >= int(h[u[0]]):
                    h.update(zip(u[::2], u[1::2], strict=True))
            self.ttl[key] = p["room_ttl"]
        for key, flat in p["pn"]:
            self.hashes.setdefault(key, {}).update(zip(flat[::2], flat[1::2], strict=True))
            self.ttl[key] = p["room_ttl"]
        for key, ttl, flat in p["h"]:
            h = self.hashes.setdefault(key, {})
            for f, n in zip(flat[::2], flat[1::2], strict=True):
                h[f] = str(int(h.get(f, 0)) + int(n))
            if ttl:
                self.ttl[key] = ttl
        for key, ttl, members in p["p"]:
            self.sets.setdefault(key, set()).update(members)
            if ttl:
                self.ttl[key] = ttl
        self._repurchase(p)
        rooms_key, rooms, cutoff = p["rooms"]
        live = self.zsets.setdefault(rooms_key, {})
        live.update(dict.fromkeys(rooms, int(p["clk"][2])))
        for room in [r for r, t in live.items() if t < int(cutoff)]:
            del live[room]
        clk_key, event_ms, applied = p["clk"]
        clk = self.hashes.setdefault(clk_key, {})
        if event_ms and ("event_ms" not in clk or int(event_ms) > int(clk["event_ms"])):
            clk["event_ms"] = event_ms
        clk["applied_ms"] = applied
        if ofl:
            self.hashes.setdefault(okey, {}).update(zip(ofl[::3], ofl[2::3], strict=True))
        return [1]

    def _repurchase(self, p: dict[str, Any]) -> None:
        """The script's repurchase step: per brand and user, the recent orders `ts@room`; a
        new order marks itself a repeat after an earlier one and the later ones after it."""
        marks: list[tuple[str, int, str, str]] = []  # room, ts, kind, user
        newest: dict[str, tuple[int, str]] = {}
        for ts, _ts_s, user, brand, state_key, room, *_ in p["buy"]:
            brand = brand or self.hashes.get(state_key, {}).get("brand") or room
            hk, pk = p["buy_pre"] + brand + "}", p["pur_pre"] + brand + "}"
            z = self.zsets.setdefault(hk, {})
            purchases = self.hashes.setdefault(pk, {})
            hist: list[tuple[int, str]] = []
            if user in purchases:
                for part in purchases[user].split(","):
                    at, _, r = part.partition("@")
                    hist.append((int(at), r))
            elif user in z:
                hist.append((z[user], ""))
            seven = thirty = False
            for t, r in hist:
                gap = ts - t
                if 0 < gap <= p["win30"]:
                    thirty = True
                    seven = seven or gap <= p["win7"]
                elif gap < 0 and -gap <= p["win30"] and r:
                    if -gap <= p["win7"]:
                        marks.append((r, t, "r7", user))
                    marks.append((r, t, "r30", user))
            if seven:
                marks.append((room, ts, "r7", user))
            if thirty:
                marks.append((room, ts, "r30", user))
            if (ts, room) not in hist:  # recorded once, as the script does
                hist.append((ts, room))
            hist = sorted(hist, key=lambda h: h[0])
            top = hist[-1][0]
            kept = [h for h in hist[-p["max_pur"]:] if h[0] >= top - p["hist_ms"]]
            purchases[user] = ",".join(f"{t}@{r}" for t, r in kept)
            z[user] = max(z.get(user, ts), ts)
            if hk not in newest or ts > newest[hk][0]:
                newest[hk] = (ts, pk)
        for hk, (ts, pk) in newest.items():
            z = self.zsets[hk]
            for user in [u for u, score in z.items() if score < ts - p["hist_ms"]]:
                del z[user]
                self.hashes.get(pk, {}).pop(user, None)
            self.ttl[hk] = self.ttl[pk] = p["hist_ttl"]
        for room, t, kind, user in marks:
            b = t - t % p["bms"]
            for res, bucket, ttl in (("f", b, p["fttl"]), ("c", b - b % p["cms"], p["cttl"])):
                k = f"{p['kp']}:{{{room}}}:h:{res}:{bucket}:{kind}"
                self.sets.setdefault(k, set()).add(user)
                self.ttl[k] = ttl

    def _check_types(self, p: dict[str, Any]) -> str:
        """The script's type check: a key of another kind refuses the batch before any write."""
        kinds: dict[str, dict[str, Any]] = {"hash": self.hashes, "set": self.sets,
                                            "zset": self.zsets}
        wanted = [(p["off"][0], "hash"), (p["clk"][0], "hash"), (p["rooms"][0], "zset")]
        wanted += [(s[0], "hash") for s in p["st"]] + [(n[0], "hash") for n in p["pn"]]
        wanted += [(h[0], "hash") for h in p["h"]] + [(h[0], "set") for h in p["p"]]
        for key, want in wanted:
            for kind, store in kinds.items():
                if kind != want and key in store:
                    return f"roompulse-refused: {key} is a {kind}"
        return ""
