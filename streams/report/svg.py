"""Inline SVG charts for the report: no script, no font or file from anywhere, print-safe."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from streams.report import texts

W, H = 960, 300
PAD_L, PAD_R, PAD_T, PAD_B = 56, 64, 34, 34
ONLINE, GMV, MARK = "#1f6feb", "#f0a020", "#8a8f98"


def _tick(v: float) -> str:
    return f"{v / 1000:.1f}k" if v >= 10_000 else f"{v:,.0f}"


def clock(ms: int, tz: timezone) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%H:%M")


def curve(series: list[dict[str, Any]], notes: list[dict[str, Any]], lang: str,
          tz: timezone = timezone(timedelta(hours=8))) -> str:
    """Online viewers (line, left axis) over GMV per minute (bars, right axis), with vertical
    marks where the stage or phase changed and pins on top where a product was pinned."""
    if not series:
        return f'<p class="muted">{texts.t("no_data", lang)}</p>'
    n = len(series)
    x0, x1, y0, y1 = PAD_L, W - PAD_R, H - PAD_B, PAD_T
    step = (x1 - x0) / n
    top_online = max(max(m["online"] for m in series), 1)
    top_gmv = max(max(m["gmv"] for m in series), 1)
    first = series[0]["minute_ms"]

    def x(minute_ms: int) -> float:
        return x0 + (minute_ms - first) / 60_000 * step

    parts = [(f'<svg viewBox="0 0 {W} {H}" role="img" class="chart" '
              f'aria-label="{escape(texts.t("curve", lang))}">')]
    for i in range(5):  # grid and both axes' ticks
        y = y0 - (y0 - y1) * i / 4
        parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{ONLINE}">'
                     f'{_tick(top_online * i / 4)}</text>')
        parts.append(f'<text x="{x1 + 6}" y="{y + 4:.1f}" fill="{GMV}">'
                     f'{_tick(top_gmv * i / 4)}</text>')
    bw = max(step * 0.7, 0.5)
    for m in series:
        h = (y0 - y1) * m["gmv"] / top_gmv
        if h > 0:
            parts.append(f'<rect x="{x(m["minute_ms"]) + (step - bw) / 2:.1f}" '
                         f'y="{y0 - h:.1f}" width="{bw:.1f}" height="{h:.1f}" fill="{GMV}" '
                         f'opacity="0.75"/>')
    pts = " ".join(f'{x(m["minute_ms"]) + step / 2:.1f},'
                   f'{y0 - (y0 - y1) * m["online"] / top_online:.1f}' for m in series)
    parts.append(f'<polyline points="{pts}" fill="none" stroke="{ONLINE}" stroke-width="2"/>')
    for note in notes:
        nx = x(note["minute_ms"])
        if note["kind"] in ("stage", "phase"):
            name = texts.stage_name(note["value"], lang)
            dy = 12 if note["kind"] == "stage" else 24
            parts.append(f'<line x1="{nx:.1f}" y1="{y1 - 4}" x2="{nx:.1f}" y2="{y0}" '
                         f'class="mark"/><text x="{nx + 3:.1f}" y="{y1 - 22 + dy}" '
                         f'class="note">{escape(name)}</text>')
        elif note["kind"] == "pin":
            parts.append(f'<path d="M{nx:.1f},{y1 - 2} l-4,-7 h8 z" fill="#c03030">'
                         f'<title>{escape(texts.t("pin", lang))}: {escape(str(note["value"]))}'
                         f'</title></path>')
        elif note["kind"] == "ad":
            parts.append(f'<circle cx="{nx + step / 2:.1f}" cy="{y0 + 6}" r="2.5" fill="#2a9d55">'
                         f'<title>{escape(texts.t("ad", lang))}: {note["value"]:,.2f}</title>'
                         f'</circle>')
    for i in range(0, n, max(1, n // 8)):
        m = series[i]["minute_ms"]
        parts.append(f'<text x="{x(m):.1f}" y="{y0 + 22}" text-anchor="middle">'
                     f'{clock(m, tz)}</text>')
    parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" class="axis"/></svg>')
    legend = (f'<p class="legend"><span style="color:{ONLINE}">━ {texts.t("online", lang)}</span>'
              f' <span style="color:{GMV}">▮ {texts.t("gmv_min", lang)}</span>'
              f' <span style="color:#c03030">▼ {texts.t("pin", lang)}</span>'
              f' <span style="color:#2a9d55">● {texts.t("ad", lang)}</span>'
              f' <span style="color:{MARK}">┆ {texts.t("stage", lang)}/'
              f'{texts.t("phase", lang)}</span></p>')
    return "".join(parts) + legend


def funnel_bars(steps: list[dict[str, Any]], counts: list[tuple[str, float]], lang: str) -> str:
    """Horizontal bars of the funnel's counts, widest first."""
    top = max((c for _, c in counts), default=0) or 1
    rows = []
    for name, c in counts:
        w = max(1.0, 600 * c / top)
        rows.append(f'<div class="fbar"><span class="fname">{escape(name)}</span>'
                    f'<svg viewBox="0 0 600 18" preserveAspectRatio="none" class="fsvg">'
                    f'<rect width="{w:.1f}" height="18" fill="{ONLINE}" opacity="0.8"/></svg>'
                    f'<span class="fnum">{c:,.0f}</span></div>')
    return "".join(rows)
