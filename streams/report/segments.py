"""Host segments (from host_change) and the product-role mix (from product_pinned's role), from
the events the ingest path folded, for a report made from a recording."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

INTERACTIONS = frozenset(("comment", "like", "share", "follow"))
ROLE_PLAN = {"traffic": 0.3, "profit": 0.5, "strategic": 0.2}  # the seed plan's 3:5:2


@dataclass
class _Host:
    name: str
    on_air_ms: int = 0
    entries: int = 0
    uv: set[str] = field(default_factory=set)
    interacting: set[str] = field(default_factory=set)
    buyers: set[str] = field(default_factory=set)
    orders: int = 0
    gmv_cents: int = 0


class Segments:
    """Feed every folded event in time order (`add`); read `hosts()` and `roles()` at the end."""

    def __init__(self) -> None:
        self._hosts: dict[str, _Host] = {}
        self._on: str | None = None  # host id on air
        self._since: int | None = None
        self._roles: dict[str, str] = {}  # product id -> role (the latest pin says)

    def add(self, ev: dict[str, Any]) -> None:
        kind, ts = ev.get("type"), ev.get("ts")
        if kind == "host_change" and isinstance(ts, int):
            self._close(ts)
            host = self._hosts.setdefault(ev["host_id"], _Host(ev["host_name"]))
            host.name = ev["host_name"]
            self._on, self._since = ev["host_id"], ts
            return
        if kind == "product_pinned" and ev.get("role"):
            self._roles[ev["product_id"]] = ev["role"]
            return
        if kind == "broadcast_end" and isinstance(ts, int):
            self._close(ts)
            self._on = None
            return
        if self._on is None:
            return
        h, user = self._hosts[self._on], ev.get("user_id")
        if kind == "enter":
            h.entries += 1
            if user is not None:
                h.uv.add(user)
        elif kind in INTERACTIONS and user is not None:
            h.interacting.add(user)
        elif kind == "order":
            cents = round(float(ev.get("amount") or 0) * 100)
            if ev.get("status", "paid") == "paid":
                h.orders += 1
                h.gmv_cents += cents
                if user is not None:
                    h.buyers.add(user)
            elif ev.get("status") == "refunded":
                h.gmv_cents -= cents

    def _close(self, ts: int) -> None:
        if self._on is not None and self._since is not None:
            self._hosts[self._on].on_air_ms += max(0, ts - self._since)
        self._since = ts

    def hosts(self, end_ms: int | None = None) -> list[dict[str, Any]]:
        """Per host, side by side: time on air and what their segments made."""
        if end_ms is not None and self._on is not None:
            self._close(end_ms)
            self._on = None
        out = []
        for hid, h in self._hosts.items():
            uv = len(h.uv)
            minutes = h.on_air_ms / 60_000
            out.append({"host_id": hid, "host_name": h.name, "minutes": minutes,
                        "entries": h.entries, "uv": uv, "orders": h.orders,
                        "gmv": h.gmv_cents / 100,
                        "gmv_per_minute": h.gmv_cents / 100 / minutes if minutes else None,
                        "interaction_rate": len(h.interacting) / uv if uv else None,
                        "conversion": len(h.buyers) / uv if uv else None,
                        "basis": "events"})
        return sorted(out, key=lambda r: (-r["minutes"], r["host_id"]))

    def roles(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """See `role_mix`."""
        return role_mix(self._roles, products)


def role_mix(roles: dict[str, str], products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The mix of products by role (count and GMV share) against the plan's 3:5:2; `roles` maps
    product id -> role, `products` are the summary's products (id, kpis). [] when no pin named
    a role."""
    if not roles:
        return []
    count: dict[str, int] = defaultdict(int)
    gmv: dict[str, float] = defaultdict(float)
    for role in roles.values():
        count[role] += 1
    for p in products:
        prole = roles.get(p["product_id"])
        if prole is not None:
            gmv[prole] += p["kpis"].get("gmv", {}).get("value") or 0.0
    n, total = sum(count.values()), sum(gmv.values())
    return [{"role": role, "products": count.get(role, 0),
             "share": count.get(role, 0) / n, "plan_share": plan,
             "gmv": gmv.get(role, 0.0), "gmv_share": gmv.get(role, 0.0) / total
             if total else None} for role, plan in ROLE_PLAN.items()]
