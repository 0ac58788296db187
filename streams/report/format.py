"""Number formats shared by the HTML and Markdown renderers."""

from __future__ import annotations


def money(v: float | None) -> str:
    return "-" if v is None else f"¥{v:,.2f}"


def num(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def dur(ms: float | None) -> str:
    """Milliseconds as `4m 18s`."""
    if ms is None:
        return "-"
    s = round(ms / 1000)
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"
