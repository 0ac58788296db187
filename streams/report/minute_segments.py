"""Host segments and the product-role mix from history's minute rows, for a report made from
history (a recording's report has the events themselves: streams.report.segments).

Each minute row keeps the host on air and the pinned product (with its role) as the minute
closed (streams.history.snapshot.state_fields). So a minute counts whole for the host on air at
its end, and a product's role is the one its last pin seen at a minute's close named.

What minute rows give exactly: minutes on air, entries, orders, GMV and GMV per minute (plain
sums; equal to the events' figures when hosts change on whole minutes). What they cannot: a
viewer's distinct count over several minutes (a row holds each minute's own distinct users).
The live writer keeps those in per-host HyperLogLogs (streams.history.host_sketches) and the
summary carries their counts (`hosts_distinct`): `uv`, `interaction_rate` and `conversion` come
from them, `"basis": "sketch"`. A host without them (history written before the sketches, a
KPI store without Redis, a host over the bound, a sketch lost) adds the minutes' distinct counts
instead, `"basis": "minutes"`: a viewer who enters twice, interacts or buys in several of the
host's minutes counts once per minute. (A recording's report says `"events"`.)
"""

from __future__ import annotations

from typing import Any

from streams.report.segments import role_mix

_SUMS = ("entries", "uv", "orders", "interacting", "buyers")


def hosts_from_minutes(minutes: list[dict[str, Any]],
                       distinct: dict[str, dict[str, int]] | None = None
                       ) -> list[dict[str, Any]]:
    """Per host, side by side (as Segments.hosts): minutes on air and what they made; distinct
    users from `distinct` (the summary's `hosts_distinct`) where it has the host.
    [] when no row names a host (no host_change, or rows written before hosts were kept)."""
    names: dict[str, str] = {}
    sums: dict[str, dict[str, int]] = {}
    for m in minutes:
        hid = m.get("host_id")
        if hid is None:
            continue
        names[hid] = m.get("host_name") or hid
        s = sums.setdefault(hid, dict.fromkeys(("minutes", "gmv_cents", *_SUMS), 0))
        s["minutes"] += 1
        s["gmv_cents"] += round(float(m.get("gmv") or 0) * 100)
        for key in _SUMS:
            s[key] += int(m.get(key) or 0)
    out = []
    for hid, s in sums.items():
        basis = "minutes"
        sketch = (distinct or {}).get(hid) or {}
        if int(sketch.get("uv") or 0) > 0:  # 0: no sketch (or it expired): the sums are better
            basis = "sketch"
            s.update({k: int(sketch.get(k) or 0) for k in ("uv", "interacting", "buyers")})
        minutes_on, uv, gmv = s["minutes"], s["uv"], s["gmv_cents"] / 100
        out.append({"host_id": hid, "host_name": names[hid], "minutes": float(minutes_on),
                    "entries": s["entries"], "uv": uv, "orders": s["orders"], "gmv": gmv,
                    "gmv_per_minute": gmv / minutes_on,
                    "interaction_rate": s["interacting"] / uv if uv else None,
                    "conversion": s["buyers"] / uv if uv else None,
                    "basis": basis})
    return sorted(out, key=lambda r: (-r["minutes"], r["host_id"]))


def roles_from_minutes(minutes: list[dict[str, Any]],
                       products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The product-role mix (see segments.role_mix) of the pins the minute rows saw; a pin
    that lasted less than a minute between two closes is not among them."""
    roles: dict[str, str] = {}
    for m in minutes:
        if m.get("pin_id") is not None and m.get("pin_role"):
            roles[m["pin_id"]] = m["pin_role"]
    return role_mix(roles, products)
