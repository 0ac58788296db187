"""The funnel exposure → entry → product click → cart → order, judged against the targets file.

Each step's rate is the KPI the live alerts watch for it (the same formula, over the whole
broadcast) and its target is that KPI's `min` in the room's targets (the stage that names it:
conversion first, then traffic, then retention). A step at or above target is `good`, within
WARNING_BAND below it `warning`, further below `bad`; without a target or data it has no label.
"""

from __future__ import annotations

from typing import Any

from alerts.targets import Targets

WARNING_BAND = 0.2  # within 20% under the target is a warning, not yet bad
STAGE_ORDER = ("conversion", "traffic", "retention")
# step -> (KPI name, numerator label, denominator label)
STEPS: tuple[tuple[str, str, str, str], ...] = (
    ("entry", "entry_rate", "entries", "exposures"),
    ("click", "ctr", "product_clicks", "product_exposures"),
    ("cart", "cart_rate", "cart_users", "click_users"),
    ("order", "order_rate", "buyers", "uv"),
)


def room_target(targets: Targets, room_id: str, brand_id: str | None, kpi: str,
                at_ms: int) -> float | None:
    """The room-level `min` for `kpi` from the first stage (STAGE_ORDER) that sets one."""
    for stage in STAGE_ORDER:
        resolved = targets.resolve(room_id, brand_id, stage, None, at_ms)
        for t in resolved.for_kpi(kpi):
            if t.min is not None:
                return t.min
    return None


def label(rate: float | None, target: float | None) -> str | None:
    if rate is None or target is None:
        return None
    if rate >= target:
        return "good"
    return "warning" if rate >= target * (1 - WARNING_BAND) else "bad"


def funnel(room: dict[str, dict[str, Any]], targets: Targets, room_id: str,
           brand_id: str | None, at_ms: int) -> list[dict[str, Any]]:
    """`room`: the summary's room KPIs ({name: {value, numerator, denominator}})."""
    out = []
    for step, kpi, num, den in STEPS:
        v = room.get(kpi, {})
        rate = v.get("value")
        target = room_target(targets, room_id, brand_id, kpi, at_ms)
        out.append({"step": step, "kpi": kpi, "rate": rate, "target": target,
                    "label": label(rate, target), num: v.get("numerator"),
                    den: v.get("denominator")})
    return out


def weakest(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The step furthest below (or least above) its target, as rate / target."""
    judged = [s for s in steps if s["rate"] is not None and s["target"]]
    if not judged:
        return None
    return min(judged, key=lambda s: s["rate"] / s["target"])


# Traffic-source bands practitioners quote (KPIS.md): natural (recommended) traffic above half
# of the entries is healthy; paid traffic above 30% is a warning.
SOURCE_BANDS: dict[str, tuple[str, float]] = {"recommend": ("min", 0.5), "ads": ("max", 0.3)}
PRIVATE_SOURCES = frozenset(("private_domain", "follow"))


def source_label(source: str, share: float | None) -> str | None:
    band = SOURCE_BANDS.get(source)
    if band is None or share is None:
        return None
    kind, bound = band
    ok = share >= bound if kind == "min" else share <= bound
    return "good" if ok else "warning"
