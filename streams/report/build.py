"""The review report's content (the JSON format; HTML and Markdown render this dict)."""

from __future__ import annotations

from typing import Any

from alerts.targets import Targets
from streams.report import texts
from streams.report.effects import with_effects
from streams.report.funnel import PRIVATE_SOURCES, funnel, room_target, source_label, weakest

REPORT_FORMAT = "roompulse-report/1"
TOP_PRODUCTS = 10


def _v(room: dict[str, dict[str, Any]], kpi: str) -> Any:
    return room.get(kpi, {}).get("value")


def _count(room: dict[str, dict[str, Any]], kpi: str) -> int:
    v = _v(room, kpi)
    return int(v) if v is not None else 0


def timeline_marks(minutes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stage/phase changes, pinned products and ad spend, at the minute they show up."""
    out: list[dict[str, Any]] = []
    prev: dict[str, Any] = {}
    for m in minutes:
        for key, kind in (("stage", "stage"), ("phase", "phase"), ("pin_id", "pin")):
            if m.get(key) is not None and m.get(key) != prev.get(key):
                value = m.get("pin_name") or m[key] if kind == "pin" else m[key]
                out.append({"minute_ms": m["minute_ms"], "kind": kind, "value": value})
        if m.get("ad_spend"):
            out.append({"minute_ms": m["minute_ms"], "kind": "ad", "value": m["ad_spend"]})
        prev = m
    return out


def alert_summary(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """How many fired, how many of those were acknowledged, and the median time it took."""
    acks = sorted(a["time_to_ack_ms"] for a in alerts if a["state"] == "acknowledged")
    return {"fired": sum(1 for a in alerts if a["state"] == "fired"),
            "acknowledged": len(acks),
            "median_time_to_ack_ms": acks[len(acks) // 2] if acks else None}


def _sources(summary: dict[str, Any], conv: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for s in summary.get("sources", []):
        k = s["kpis"]
        share = k.get("entry_share", {}).get("value")
        a = conv.get(s["source"], {})
        out.append({"source": s["source"], "exposures": _count(k, "exposures"),
                    "entries": _count(k, "entries"), "share": share,
                    "entry_rate": k.get("entry_rate", {}).get("value"),
                    "uv": a.get("uv"), "buyers": a.get("buyers"),
                    "conversion": a.get("conversion"), "label": source_label(s["source"], share)})
    out.sort(key=lambda r: (-r["entries"], r["source"]))
    return out


def _products(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for p in summary.get("products", []):
        k = p["kpis"]
        rows.append({"product_id": p["product_id"], "name": p.get("name"),
                     "gmv": _v(k, "gmv") or 0.0, "orders": _count(k, "orders"),
                     "ctr": _v(k, "ctr"), "cart_rate": _v(k, "cart_rate"),
                     "conversion": _v(k, "order_rate")})
    rows.sort(key=lambda r: (-r["gmv"], -r["orders"], r["product_id"]))
    return rows[:TOP_PRODUCTS]


def build_report(summary: dict[str, Any], minutes: list[dict[str, Any]], targets: Targets, *,
                 lang: str = "zh-CN", regions: list[dict[str, Any]] | None = None,
                 source_conversion: dict[str, dict[str, Any]] | None = None,
                 alerts: list[dict[str, Any]] | None = None,
                 hosts: list[dict[str, Any]] | None = None,
                 age_bands: list[dict[str, Any]] | None = None,
                 product_roles: list[dict[str, Any]] | None = None,
                 gmv_target: float | None = None) -> dict[str, Any]:
    room = summary["room"]
    room_id, brand = summary["room_id"], summary.get("brand_id")
    at = summary["start_ms"]
    gmv = _v(room, "gmv") or 0.0
    ad = _v(room, "ad_spend") or 0.0
    if gmv_target is None:
        gmv_target = room_target(targets, room_id, brand, "gmv", at)
    steps = funnel(room, targets, room_id, brand, at)
    weak = weakest(steps)
    sources = _sources(summary, source_conversion or {})
    private = sum(s["entries"] for s in sources if s["source"] in PRIVATE_SOURCES)
    entries = sum(s["entries"] for s in sources)
    stay_target = room_target(targets, room_id, brand, "avg_stay_ms", at)
    inter_target = room_target(targets, room_id, brand, "interaction_rate", at)
    return {
        "format": REPORT_FORMAT, "lang": lang,
        "broadcast": {"id": summary["broadcast_id"], "room_id": room_id, "brand_id": brand,
                      "platform": summary.get("platform"), "start_ms": summary["start_ms"],
                      "end_ms": summary.get("end_ms"), "minutes": len(minutes)},
        "gmv": gmv, "gmv_target": gmv_target,
        "gmv_attainment": gmv / gmv_target if gmv_target else None,
        "orders": _count(room, "orders"), "uv": _count(room, "uv"),
        "pcu": max((m["online"] for m in minutes), default=0),
        "avg_stay_ms": _v(room, "avg_stay_ms"), "avg_stay_target_ms": stay_target,
        "interaction_rate": _v(room, "interaction_rate"),
        "interaction_target": inter_target,
        "ad_spend": ad, "roi": gmv / ad if ad else None,
        "aov": _v(room, "aov"), "uv_value": _v(room, "uv_value"), "gpm": _v(room, "gpm"),
        "new_followers": _count(room, "new_followers"), "refunds": _count(room, "refunds"),
        "funnel": steps,
        "weakest": None if weak is None else {
            "step": weak["step"], "label": weak["label"],
            "remedy": texts.remedy(weak["step"], lang) if weak["label"] != "good"
            else texts.t("all_good", lang)},
        "sources": sources,
        "private_share": private / entries if entries else None,
        "products": _products(summary),
        "regions": regions or [],
        "hosts": hosts or [],
        "age_bands": age_bands or [],
        "product_roles": product_roles or [],
        "alerts": with_effects(alerts or [], minutes),
        "alerts_summary": alert_summary(alerts or []),
        "series": [{"minute_ms": m["minute_ms"], "online": m["online"], "gmv": m["gmv"],
                    "entries": m["entries"], "orders": m["orders"]} for m in minutes],
        "annotations": timeline_marks(minutes),
    }
