"""Which distinct counts (HyperLogLogs) each KPI needs, derived from the formulas themselves.

A PFCOUNT over a window's buckets is the dearest read there is; a reader that knows which KPIs
it wants counts only the kinds those KPIs use. The table is found by probing the formulas (vary
one aggregate, see which KPIs move), so it cannot drift from streams/kpi/formulas.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import TYPE_CHECKING, TypeVar

from streams.kpi.aggregates import PRODUCT_HLL_ATTR, ROOM_HLL_ATTR, ProductAgg, RoomAgg
from streams.kpi.formulas import product_kpis, room_kpis

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from schemas.kpis import KpiValue

Agg = TypeVar("Agg", bound="DataclassInstance")

ONLINE = "online"  # the broadcast-to-date entries minus leaves, not an HLL


def _probe(fn: Callable[[Agg], Mapping[str, KpiValue]], agg_cls: type[Agg]
           ) -> dict[str, set[str]]:
    """kpi -> aggregate attributes its value, numerator or denominator depends on."""
    base = agg_cls(**{f.name: 3 for f in fields(agg_cls)})
    before = {str(k): v for k, v in fn(base).items()}
    deps: dict[str, set[str]] = {k: set() for k in before}
    for f in fields(agg_cls):
        after = fn(replace(base, **{f.name: 11}))
        for k, v in after.items():
            if v != before[str(k)]:
                deps[str(k)].add(f.name)
    return deps


def _kinds(deps: dict[str, set[str]], hll_attr: dict[str, str]) -> dict[str, frozenset[str]]:
    kind_of = {attr: kind for kind, attr in hll_attr.items()}
    kind_of["online_viewers"] = ONLINE
    return {k: frozenset(kind_of[a] for a in attrs if a in kind_of) for k, attrs in deps.items()}


ROOM_KPI_KINDS = _kinds(_probe(room_kpis, RoomAgg), ROOM_HLL_ATTR)
PRODUCT_KPI_KINDS = _kinds(_probe(product_kpis, ProductAgg), PRODUCT_HLL_ATTR)

# Counters that move whenever a member is added to an HLL kind (the fold adds both in the same
# atomic apply): while these sums over a window's buckets stay the same, so does the count.
ROOM_KIND_COUNTERS: dict[str, tuple[str, ...]] = {
    "uv": ("ent",), "iu": ("cmt", "lk", "sh", "fl"), "ck": ("pclk",), "ca": ("cart",),
    "by": ("ord",), "pd": ("pdj",), "r7": ("ord",), "r30": ("ord",),
}
PRODUCT_KIND_COUNTERS: dict[str, tuple[str, ...]] = {"ck": ("clk",), "ca": ("cart",),
                                                     "by": ("ord",)}


def kinds_for(kpis: frozenset[str] | None, table: dict[str, frozenset[str]],
              every: tuple[str, ...]) -> set[str]:
    """The HLL kinds (and ONLINE) the given KPIs need; None = every KPI."""
    if kpis is None:
        return {*every, ONLINE}
    out: set[str] = set()
    for k in kpis:
        out |= table.get(k, frozenset())
    return out
