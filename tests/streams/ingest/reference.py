"""The KPIs of accepted events counted plainly, and the same counters read back from a store.

The reference never uses the folder or key builders: it counts the events as they were
generated (an order's cents as drawn, not re-derived from its JSON), and the read-back parses
the in-memory store's bucket hashes and user sets by their documented key layout.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from streams.kpi.store_memory import InMemoryKpiStore
from tests.streams.ingest.strategies import FOLDED, Msg

BUCKET = re.compile(r"^rp:\{(?P<room>[^{}]*)\}:b:(?P<res>[fc]):\d+$")
UV = re.compile(r"^rp:\{(?P<room>[^{}]*)\}:h:(?P<res>[fc]):\d+:uv$")
ROOM_FIELDS = ("ent", "lk", "pclk", "cart", "ord", "gp", "ref", "gr")
PRODUCT_FIELDS = ("clk", "cart", "ord", "gp", "ref", "gr")


def reference(msgs: list[Msg], out: dict[int, str]) -> tuple[dict, dict, dict]:
    """Counters per room, per (room, product) and entering users per room, counted from the
    accepted events as generated: no folder, no key names."""
    rooms: dict[str, Counter] = defaultdict(Counter)
    products: dict[tuple[str, str], Counter] = defaultdict(Counter)
    uv: dict[str, set] = defaultdict(set)
    for i, got in out.items():
        if got != FOLDED:
            continue
        e, m = msgs[i].event, msgs[i]
        room, kind = e["room_id"], e["type"]
        rooms[room]["events"] += 1
        if kind == "enter":
            rooms[room]["ent"] += 1
            if "user_id" in e:
                uv[room].add(e["user_id"])
        elif kind == "like":
            rooms[room]["lk"] += e.get("count", 1)
        elif kind in ("product_click", "cart_add"):
            code = "pclk" if kind == "product_click" else "cart"
            rooms[room][code] += 1
            products[(room, e["product_id"])]["clk" if code == "pclk" else "cart"] += 1
        elif kind == "order" and e["status"] != "created":
            n, money = ("ord", "gp") if e["status"] == "paid" else ("ref", "gr")
            for c in (rooms[room], products[(room, e["product_id"])]):
                c[n] += 1
                c[money] += m.cents
    return rooms, products, uv


def stored_kpis(store: InMemoryKpiStore, res: str) -> tuple[dict, dict, dict]:
    """The same counters read back from the store's bucket hashes at one resolution."""
    rooms: dict[str, Counter] = defaultdict(Counter)
    products: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for key, h in store.hashes.items():
        m = BUCKET.match(key)
        if not m or m["res"] != res:
            continue
        for name, v in h.items():
            if name.startswith("p:"):
                pid, _, code = name[2:].rpartition(":")
                if code in PRODUCT_FIELDS:
                    products[(m["room"], pid)][code] += int(v)
            elif name in ROOM_FIELDS:
                rooms[m["room"]][name] += int(v)
    uv: dict[str, set] = defaultdict(set)
    for key, members in store.sets.items():
        m = UV.match(key)
        if m and m["res"] == res:
            uv[m["room"]] |= members
    return rooms, products, uv
