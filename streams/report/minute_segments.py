"""Host segments and the product-role mix from history's minute rows, for a report made from
history (a recording's report has the events themselves: streams.report.segments).

Each minute row keeps the host on air and the pinned product (with its role) as the minute
closed (streams.history.snapshot.state_fields). So a minute counts whole for the host on air at
its end, and a product's role is the one its last pin seen at a minute's close named.

What minute rows give exactly: minutes on air, entries, orders, GMV and GMV per minute (plain
sums; equal to the events' figures when hosts change on whole minutes). What they cannot: a
viewer's distinct count over several minutes (a row holds each minute's own distinct users).
`uv`, `interaction_rate` and `conversion` therefore add the minutes' distinct counts: a viewer
who enters twice, interacts or buys in several of a host's minutes counts once per minute. The
rows say so with `"basis": "minutes"` (a recording's: `"events"`).
"""

from __future__ import annotations

from typing import Any

from streams.report.segments import role_mix

_SUMS = ("entries", "uv", "orders", "interacting", "buyers")


def hosts_from_minutes(minutes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per host, side by side (as Segments.hosts): minutes on air and what they made.
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
        minutes_on, uv, gmv = s["minutes"], s["uv"], s["gmv_cents"] / 100
        out.append({"host_id": hid, "host_name": names[hid], "minutes": float(minutes_on),
                    "entries": s["entries"], "uv": uv, "orders": s["orders"], "gmv": gmv,
                    "gmv_per_minute": gmv / minutes_on,
                    "interaction_rate": s["interacting"] / uv if uv else None,
                    "conversion": s["buyers"] / uv if uv else None,
                    "basis": "minutes"})
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
