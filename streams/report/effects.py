"""Each acknowledged alert's effect: its KPI over the 10 minutes after the acknowledgement
against the 10 minutes before, from the broadcast's minute rows.

Counts and sums add up across minutes exactly; distinct counts (UV, clickers, buyers) are
per-minute counts summed, so a viewer active in two minutes counts twice on both sides of the
ratio. Good enough to see whether an action moved the KPI; not a KPI of record.
"""

from __future__ import annotations

from typing import Any

EFFECT_MS = 10 * 60_000
# KPI -> (numerator row key, denominator row key or None for a sum)
FORMULAS: dict[str, tuple[str, str | None]] = {
    "entry_rate": ("entries", "exposures"), "ctr": ("product_clicks", "product_exposures"),
    "cart_rate": ("cart_users", "click_users"), "order_rate": ("buyers", "uv"),
    "interaction_rate": ("interacting", "uv"), "avg_stay_ms": ("watch_ms", "entries"),
    "gmv": ("gmv", None), "entries": ("entries", None), "orders": ("orders", None),
    "negative_comment_share": ("negative_comments", "comments"),
}


def _value(rows: list[dict[str, Any]], kpi: str) -> float | None:
    num, den = FORMULAS[kpi]
    n = sum(r.get(num, 0) for r in rows)
    if den is None:
        return n if rows else None
    d = sum(r.get(den, 0) for r in rows)
    return n / d if d else None


def effect(ack_at: int, kpi: str | None, minutes: list[dict[str, Any]]) -> dict[str, Any] | None:
    if kpi not in FORMULAS:
        return None
    before = [m for m in minutes if ack_at - EFFECT_MS <= m["minute_ms"] < ack_at]
    after = [m for m in minutes if ack_at <= m["minute_ms"] < ack_at + EFFECT_MS]
    b, a = _value(before, kpi), _value(after, kpi)
    return {"kpi": kpi, "before": b, "after": a,
            "change": a / b - 1 if a is not None and b else None,
            "minutes_before": len(before), "minutes_after": len(after)}


def with_effects(alerts: list[dict[str, Any]], minutes: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """The timeline, each acknowledgement with its `effect` (a copy; input untouched)."""
    out = []
    for a in alerts:
        if a["state"] == "acknowledged":
            a = {**a, "effect": effect(a["at"], a.get("kpi"), minutes)}
        out.append(a)
    return out
