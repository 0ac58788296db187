"""Make a report from a recording or from history, and render it in one of the formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from alerts.rules import RulePack
from alerts.targets import Targets
from streams.alerting.backtest import backtest_values
from streams.kpi.config import KpiSettings
from streams.report.audience import from_minutes as audience_from_minutes
from streams.report.build import build_report
from streams.report.compare import compare
from streams.report.html import render_html
from streams.report.markdown import render_markdown
from streams.report.minute_segments import hosts_from_minutes, roles_from_minutes
from streams.report.recording import collect, room_values
from streams.report.weekly import WEEKLY_FORMAT
from streams.report.weekly_render import render_weekly_html, render_weekly_markdown

FORMATS = ("html", "json", "md")
RESOLVE_GRACE_MS = 10 * 60_000


class ReportError(Exception):
    """A report cannot be made (no such room/broadcast, unreadable input): not retryable."""


def alert_timeline(transitions: list, room_id: str) -> list[dict[str, Any]]:
    """Fired and resolved transitions of one room, oldest first."""
    out = []
    for t in transitions:
        if t.room_id != room_id or t.state.value not in ("firing", "resolved"):
            continue
        out.append({"rule": t.rule, "state": "fired" if t.state.value == "firing" else "resolved",
                    "at": t.at, "value": t.value, "labels": dict(t.labels)})
    return out


async def data_from_recording(path: str | Path, room_id: str, *, rules: RulePack | None = None,
                              targets: Targets | None = None, alerts: bool = True,
                              settings: KpiSettings | None = None) -> dict[str, Any]:
    """What history would hold for the broadcast: summary (with regions, source conversion and
    alerts folded in) and minutes."""
    try:
        c = await collect(path, room_id, settings)
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if c.summary is None:
        raise ReportError(f"room {room_id!r} has no broadcast_start in {path}")
    summary = dict(c.summary)
    summary["regions"] = c.audience.regions()
    summary["source_conversion"] = c.audience.sources()
    summary["age_bands"] = c.audience.age_bands()
    summary["hosts"] = c.segments.hosts(summary.get("end_ms") or summary["as_of_ms"])
    summary["product_roles"] = c.segments.roles(summary["products"])
    summary["alerts"] = []
    if alerts:
        targets = targets or Targets.load()
        res = await backtest_values(room_values(path, room_id), rules or RulePack.load(), targets,
                                    settings=settings)
        # The backtest keeps what the live time policy would refuse (an event dated years
        # ahead); what it says after the broadcast (and a resolution's grace) is no part of it.
        last = (summary.get("end_ms") or summary["as_of_ms"]) + RESOLVE_GRACE_MS
        summary["alerts"] = [a for a in alert_timeline(res.transitions, room_id)
                             if summary["start_ms"] <= a["at"] <= last]
    return {"summary": summary, "minutes": c.minutes}


def report_from_data(data: dict[str, Any], targets: Targets, lang: str = "zh-CN",
                     gmv_target: float | None = None) -> dict[str, Any]:
    """The report of `data` ({summary, minutes}); with `earlier` (the room's previous
    broadcasts, newest first, from history) it also compares with them."""
    s, minutes = data["summary"], data["minutes"]
    # A recording's summary has them from the events; history's come from its minute rows
    # (distinct users from the writer's per-host sketches, when the summary has them).
    hosts = s["hosts"] if "hosts" in s else hosts_from_minutes(minutes, s.get("hosts_distinct"))
    roles = s["product_roles"] if "product_roles" in s else \
        roles_from_minutes(minutes, s.get("products", []))
    # Regions, age bands and each source's conversion: a recording's summary has them from its
    # events, history from the live attribution's minute counters, or nowhere (history
    # written with attribution off).
    if "regions" in s:
        aud, source = s, "recording"
    else:
        aud = audience_from_minutes(minutes)
        source = "live" if aud else "off"
    report = build_report(s, minutes, targets, lang=lang, regions=aud.get("regions"),
                          hosts=hosts, age_bands=aud.get("age_bands"), product_roles=roles,
                          source_conversion=aud.get("source_conversion"), alerts=s.get("alerts"),
                          gmv_target=gmv_target)
    report["audience"] = source
    if aud.get("audience_untracked"):
        report["audience_untracked"] = aud["audience_untracked"]
    if "earlier" in data:
        compare(report, [report_from_data(d, targets, lang, gmv_target)
                         for d in data["earlier"]])
    return report


def render(report: dict[str, Any], fmt: str) -> bytes:
    """A broadcast report or a weekly review (by its `format`) in one of FORMATS."""
    weekly = report.get("format") == WEEKLY_FORMAT
    if fmt == "json":
        return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n"
    if fmt == "md":
        return (render_weekly_markdown(report) if weekly else render_markdown(report)).encode()
    if fmt == "html":
        return (render_weekly_html(report) if weekly else render_html(report)).encode()
    raise ReportError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
