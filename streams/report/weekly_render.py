"""The weekly review as one self-contained HTML page or as Markdown."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from streams.report import texts
from streams.report.format import dur, money, num, pct
from streams.report.html import CSS, TZ


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


# (key, text key, formatter) of the side-by-side columns
COLUMNS = (("gmv", "gmv", money), ("orders", "orders", num), ("uv", "uv", num),
           ("pcu", "pcu", num), ("roi", "roi", _ratio),
           ("avg_stay_ms", "avg_stay", dur), ("interaction_rate", "interaction_rate", pct),
           ("cost_per_viewer", "cost_per_viewer", money))


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, TZ).strftime("%m-%d %H:%M")


def _trend(t: dict[str, Any], lang: str) -> str:
    if t["direction"] is None:
        return "-"
    arrow = {"rising": "↗", "falling": "↘", "flat": "→"}[t["direction"]]
    return f'{arrow} {texts.t(t["direction"], lang)} ({t["change"] * 100:+.0f}%)'


def _cells(w: dict[str, Any], lang: str) -> tuple[list[str], list[list[str]]]:
    T = texts.tr(lang)
    head = [T("broadcast"), T("time")] + [T(k) for _, k, _ in COLUMNS] + [T("weakest")]
    rows = [[x["id"], _when(x["start_ms"])] + [f(x[k]) for k, _, f in COLUMNS]
            + [texts.step_name(x["weakest"], lang) if x["weakest"] else "-"]
            for x in w["broadcasts"]]
    return head, rows


def render_weekly_html(w: dict[str, Any]) -> str:
    lang = w["lang"]
    T = texts.tr(lang)
    head, rows = _cells(w, lang)
    table = "".join(f"<th>{escape(h)}</th>" for h in head) + "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    trends = "".join(f"<tr><td>{escape(T(k))}</td><td>{escape(_trend(w['trends'][key], lang))}"
                     f"</td></tr>" for key, k, _ in COLUMNS)
    alerts = "".join(f"<tr><td>{escape(a['rule'])}</td><td class='n'>{a['fired']}</td></tr>"
                     for a in w["alerts_most"]) or f"<tr><td>{T('none')}</td></tr>"
    steps = "".join(f"<tr><td>{escape(texts.step_name(s['step'], lang))}</td><td class='n'>"
                    f"{s['bad']}</td><td class='n'>{s['warning']}</td></tr>"
                    for s in w["funnel_steps"])
    worst = w["most_bad_step"]
    tip = f"<p class='muted'>{T('no_bad')}</p>" if worst is None else (
        f"<div class='remedy'><b>{T('most_bad')}: {escape(texts.step_name(worst['step'], lang))}"
        f"</b> ({worst['bad']} {T('times')})<br>{T('remedy')}: {escape(worst['remedy'])}</div>")
    tot = w["totals"]
    scope = " · ".join(f"{escape(k)} {escape(v)}" for k, v in w["scope"].items())
    return (
        f'<!DOCTYPE html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<title>{T("weekly_title")}</title><style>{CSS}</style></head><body><main>'
        f'<h1>{T("weekly_title")} · {w["week"]["from"]} – {w["week"]["to"]}</h1>'
        f'<p class="muted">{scope}</p><section><h2>{T("totals")}</h2><p>'
        f'{T("broadcasts")} {tot["broadcasts"]} · {T("gmv")} {money(tot["gmv"])} · '
        f'{T("orders")} {num(tot["orders"])} · {T("ad_spend")} {money(tot["ad_spend"])} · '
        f'{T("roi")} {_ratio(tot["roi"])}</p></section>'
        f'<section><h2>{T("broadcasts")}</h2><table>{table}</table></section>'
        f'<section><h2>{T("trends")}</h2><table>{trends}</table></section>'
        f'<section><h2>{T("funnel")}</h2><table><tr><th>{T("step")}</th><th class="n">'
        f'{T("bad")}</th><th class="n">{T("warning")}</th></tr>{steps}</table>{tip}</section>'
        f'<section><h2>{T("alerts_most")}</h2><table>{alerts}</table></section>'
        f'<p class="muted">{T("footer")}</p></main></body></html>\n')


def render_weekly_markdown(w: dict[str, Any]) -> str:
    lang = w["lang"]
    T = texts.tr(lang)
    head, rows = _cells(w, lang)
    out = [f"# {T('weekly_title')} · {w['week']['from']} – {w['week']['to']}", ""]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows] + [""]
    out += [f"## {T('trends')}", ""]
    out += [f"- {T(k)}: {_trend(w['trends'][key], lang)}" for key, k, _ in COLUMNS] + [""]
    out += [f"## {T('alerts_most')}", ""]
    out += [f"- {a['rule']}: {a['fired']}" for a in w["alerts_most"]] or [T("none")]
    worst = w["most_bad_step"]
    out += ["", f"## {T('most_bad')}", "",
            T("no_bad") if worst is None else
            f"{texts.step_name(worst['step'], lang)} ({worst['bad']}) — {worst['remedy']}", ""]
    return "\n".join(out)
