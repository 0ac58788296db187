"""A broadcast against the room's own history: the previous broadcast and the median of the
last N, for the headline figures and each funnel step (as TikTok Shop's live diagnosis does)."""

from __future__ import annotations

import math
from statistics import median
from typing import Any

from streams.report.funnel import label

HISTORY_N = 7  # broadcasts of the room the median is taken over
HEADLINE = ("gmv", "orders", "uv", "pcu", "avg_stay_ms", "interaction_rate", "roi")


def _change(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base - 1


def _median(values: list[float | None]) -> float | None:
    vs = [v for v in values if v is not None]
    return median(vs) if vs else None


def decomposition(r: dict[str, Any]) -> dict[str, float | None]:
    """GMV = exposures × viewers per exposure × UV value (each factor of this broadcast)."""
    steps = {s["step"]: s for s in r["funnel"]}
    exposures = steps["entry"].get("exposures") or 0
    uv = r["uv"]
    return {"exposures": exposures, "uv_per_exposure": uv / exposures if exposures else None,
            "uv_value": r["gmv"] / uv if uv else None}


def _moved(now: dict[str, float | None], before: dict[str, float | None]) -> dict[str, Any]:
    """Each factor's log change (they add up to the log change of GMV) and the largest one."""
    shares: dict[str, float | None] = {}
    for k, v in now.items():
        b = before.get(k)
        shares[k] = math.log(v / b) if v and b and v > 0 and b > 0 else None
    known = {k: v for k, v in shares.items() if v is not None}
    top = max(known, key=lambda k: abs(known[k])) if known else None
    return {"log_change": shares, "moved_most": top}


def compare(report: dict[str, Any], earlier: list[dict[str, Any]]) -> dict[str, Any]:
    """Adds `compare` (per headline figure) and, per funnel step, `history_median` and
    `history_label` to `report` (in place); `earlier`: the room's previous reports, newest
    first. Returns the report."""
    earlier = earlier[:HISTORY_N]
    prev = earlier[0] if earlier else None
    out: dict[str, Any] = {"previous_id": prev["broadcast"]["id"] if prev else None,
                           "history_n": len(earlier)}
    for key in HEADLINE:
        value = report[key]
        p = prev[key] if prev else None
        m = _median([r[key] for r in earlier])
        out[key] = {"previous": p, "vs_previous": _change(value, p),
                    "median": m, "vs_median": _change(value, m)}
    gmv = decomposition(report)
    out["gmv_decomposition"] = {"factors": gmv, "previous": decomposition(prev) if prev else None,
                                **(_moved(gmv, decomposition(prev)) if prev else
                                   {"log_change": None, "moved_most": None})}
    report["compare"] = out
    for step in report["funnel"]:
        rates = [s["rate"] for r in earlier for s in r["funnel"] if s["step"] == step["step"]]
        m = _median(rates)
        step["history_median"] = m
        step["history_label"] = label(step["rate"], m)
    return report
