"""Audience breakdowns of one broadcast by region and by traffic source, from its events.

The KPI store keeps sources per bucket (exposures, entries) but neither regions nor which
source a buyer came from: both need a user's entry joined with what the user did later. The
report builds them from the very events the ingest path folded (after dedup and the time
policy), one user at a time, so shares and conversions are exact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

INTERACTIONS = frozenset(("comment", "like", "share", "follow"))


@dataclass
class _Group:
    uv: set[str] = field(default_factory=set)
    entries: int = 0
    watch_ms: int = 0
    interacting: set[str] = field(default_factory=set)
    buyers: set[str] = field(default_factory=set)
    gmv_cents: int = 0


class Audience:
    """Feed every folded event (`add`); read `regions()` and `sources()` at the end."""

    def __init__(self) -> None:
        self._region: dict[str, str | None] = {}
        self._age: dict[str, str | None] = {}
        self._source: dict[str, str] = {}
        self._entries: dict[str, int] = defaultdict(int)
        self._watch: dict[str, int] = defaultdict(int)
        self._interacting: set[str] = set()
        self._buyers: set[str] = set()
        self._gmv: dict[str, int] = defaultdict(int)
        self.any_region = False
        self.any_age = False

    def add(self, ev: dict[str, Any]) -> None:
        user = ev.get("user_id")
        if user is None:
            return
        kind = ev.get("type")
        if kind == "enter":
            region = ev.get("region")
            self.any_region |= region is not None
            # a viewer's first entry decides the region and the source they are counted under
            self._region.setdefault(user, region)
            age = ev.get("age_band")
            self.any_age |= age is not None
            self._age.setdefault(user, age)
            self._source.setdefault(user, ev.get("source") or "other")
            self._entries[user] += 1
        elif kind == "leave":
            self._watch[user] += int(ev.get("watch_ms") or 0)
        elif kind in INTERACTIONS:
            self._interacting.add(user)
        elif kind == "order":
            cents = round(float(ev.get("amount") or 0) * 100)
            status = ev.get("status", "paid")
            if status == "paid":
                self._buyers.add(user)
                self._gmv[user] += cents
            elif status == "refunded":
                self._gmv[user] -= cents

    def _groups(self, key: dict[str, Any]) -> dict[Any, dict[str, int]]:
        groups: dict[Any, _Group] = defaultdict(_Group)
        for user, k in key.items():
            g = groups[k]
            g.uv.add(user)
            g.entries += self._entries[user]
            g.watch_ms += self._watch.get(user, 0)
            if user in self._interacting:
                g.interacting.add(user)
            if user in self._buyers:
                g.buyers.add(user)
            g.gmv_cents += self._gmv.get(user, 0)
        return {k: {"uv": len(g.uv), "en": g.entries, "wt": g.watch_ms,
                    "iu": len(g.interacting), "by": len(g.buyers), "gm": g.gmv_cents}
                for k, g in groups.items()}

    def _rows(self, key: dict[str, Any], name: str) -> list[dict[str, Any]]:
        return group_rows(self._groups(key), name)

    def regions(self) -> list[dict[str, Any]]:
        """Per region: UV share, stay, interaction and conversion; [] when no entry had one."""
        return self._rows(self._region, "region") if self.any_region else []

    def age_bands(self) -> list[dict[str, Any]]:
        """The same per age band (where the platform gives one); [] when none did."""
        return self._rows(self._age, "age_band") if self.any_age else []

    def sources(self) -> dict[str, dict[str, Any]]:
        """Per entry source: viewers' conversion (buyers / UV) and GMV."""
        return {r["source"]: r for r in self._rows(self._source, "source")}


def group_rows(groups: dict[Any, dict[str, int]], name: str) -> list[dict[str, Any]]:
    """Report rows from per-group counts (uv, en entries, wt watch ms, iu interacting users,
    by buyers, gm GMV cents): the recording's per-viewer join and live history's minute
    counters (streams.kpi.audience) give the same rows through this one function."""
    total = sum(g.get("uv", 0) for g in groups.values())
    rows = []
    for k, g in groups.items():
        uv, entries, buyers = g.get("uv", 0), g.get("en", 0), g.get("by", 0)
        rows.append({
            name: k, "uv": uv, "share": uv / total if total else None,
            "entries": entries,
            "avg_stay_ms": g.get("wt", 0) / entries if entries else None,
            "interaction_rate": g.get("iu", 0) / uv if uv else None,
            "buyers": buyers, "conversion": buyers / uv if uv else None,
            "gmv": g.get("gm", 0) / 100,
        })
    rows.sort(key=lambda r: (-r["uv"], str(r[name])))
    return rows


def from_minutes(minutes: list[dict[str, Any]]) -> dict[str, Any]:
    """regions, age_bands and source_conversion (as a recording's Audience gives them) from
    history's minute rows; `audience_untracked`: viewers beyond the live bounds. None when no
    minute holds audience counters (history written before, or with attribution off)."""
    dims: dict[str, dict[str, dict[str, int]]] = {}
    for m in minutes:
        for dim, values in (m.get("audience") or {}).items():
            into = dims.setdefault(dim, {})
            for value, counts in values.items():
                g = into.setdefault(value, {})
                for metric, n in counts.items():
                    g[metric] = g.get(metric, 0) + n
    if not dims:
        return {}

    def keyed(dim: str) -> dict[Any, dict[str, int]]:
        # "" is an entry without the field: None, as in a recording's breakdown
        return {(v or None): g for v, g in dims.get(dim, {}).items()}

    def rows(dim: str, name: str) -> list[dict[str, Any]]:
        groups = keyed(dim)
        return group_rows(groups, name) if any(k is not None for k in groups) else []

    return {"regions": rows("r", "region"), "age_bands": rows("a", "age_band"),
            "source_conversion": {r["source"]: r for r in group_rows(keyed("s"), "source")},
            "audience_untracked": sum(g.get("uv", 0) for g in dims.get("x", {}).values())}
