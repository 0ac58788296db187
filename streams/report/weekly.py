"""The weekly review: a week's broadcasts side by side, trends, the alerts that fired most and
the funnel step most often `bad`, from the broadcasts' own reports."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from statistics import fmean
from typing import Any

from streams.report import texts

WEEKLY_FORMAT = "roompulse-weekly/1"
# Headline figures put side by side and tested for a trend; cost per viewer is the "rising
# traffic cost" the weekly meeting asks about.
TREND_KEYS = ("gmv", "orders", "uv", "pcu", "roi", "avg_stay_ms", "interaction_rate",
              "cost_per_viewer")
FLAT = 0.05  # a least-squares change under 5% of the mean over the week is flat


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _row(r: dict[str, Any]) -> dict[str, Any]:
    b = r["broadcast"]
    return {
        "id": b["id"], "room_id": b["room_id"], "brand_id": b["brand_id"],
        "start_ms": b["start_ms"], "minutes": b["minutes"],
        "gmv": r["gmv"], "orders": r["orders"], "uv": r["uv"], "pcu": r["pcu"], "roi": r["roi"],
        "ad_spend": r["ad_spend"], "avg_stay_ms": r["avg_stay_ms"],
        "interaction_rate": r["interaction_rate"],
        "cost_per_viewer": r["ad_spend"] / r["uv"] if r["uv"] else None,
        "funnel": {s["step"]: s["label"] for s in r["funnel"]},
        "weakest": (r["weakest"] or {}).get("step"),
        "alerts_fired": sum(1 for a in r["alerts"] if a["state"] == "fired"),
    }


def trend(values: list[float | None]) -> dict[str, Any]:
    """Least-squares slope over the week, as a share of the mean per broadcast."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(pts) < 2:
        return {"direction": None, "change": None}
    mx, my = fmean(p[0] for p in pts), fmean(p[1] for p in pts)
    var = sum((x - mx) ** 2 for x, _ in pts)
    slope = sum((x - mx) * (y - my) for x, y in pts) / var
    change = slope * (len(values) - 1) / my if my else None  # first to last, fitted
    if change is None:
        return {"direction": None, "change": None}
    direction = "flat" if abs(change) < FLAT else ("rising" if change > 0 else "falling")
    return {"direction": direction, "change": change}


def build_weekly(reports: list[dict[str, Any]], first: date, last: date, scope: dict[str, str],
                 lang: str = "zh-CN") -> dict[str, Any]:
    """`reports`: the week's broadcast reports (build_report), any order."""
    rows = sorted((_row(r) for r in reports), key=lambda x: (x["start_ms"], x["id"]))
    fired = Counter(a["rule"] for r in reports for a in r["alerts"] if a["state"] == "fired")
    bad = Counter(step for x in rows for step, lbl in x["funnel"].items() if lbl == "bad")
    warn = Counter(step for x in rows for step, lbl in x["funnel"].items() if lbl == "warning")
    gmv = sum(x["gmv"] for x in rows)
    ad = sum(x["ad_spend"] for x in rows)
    worst = None
    if bad:
        step, n = sorted(bad.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        worst = {"step": step, "bad": n, "remedy": texts.remedy(step, lang)}
    return {
        "format": WEEKLY_FORMAT, "lang": lang, "scope": scope,
        "week": {"from": first.isoformat(), "to": last.isoformat()},
        "broadcasts": rows,
        "totals": {"broadcasts": len(rows), "gmv": gmv, "orders": sum(x["orders"] for x in rows),
                   "ad_spend": ad, "roi": gmv / ad if ad else None},
        "trends": {k: trend([x[k] for x in rows]) for k in TREND_KEYS},
        "alerts_most": [{"rule": rule, "fired": n}
                        for rule, n in sorted(fired.items(), key=lambda kv: (-kv[1], kv[0]))],
        "funnel_steps": [{"step": s, "bad": bad.get(s, 0), "warning": warn.get(s, 0)}
                         for s in texts.STEPS],
        "most_bad_step": worst,
    }
