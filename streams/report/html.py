"""The report as one self-contained HTML page: inline CSS and SVG, nothing from the network."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from streams.report import svg, texts
from streams.report.format import dur, money, num, pct

TZ = timezone(timedelta(hours=8))  # the targets file's default zone (Asia/Shanghai)

CSS = """
*{box-sizing:border-box}body{font:14px/1.5 -apple-system,"PingFang SC","Noto Sans CJK SC",
"Microsoft YaHei",sans-serif;color:#1d2230;margin:0;background:#f5f6f8}
main{max-width:1040px;margin:0 auto;padding:24px}h1{font-size:22px;margin:0 0 4px}
h2{font-size:16px;margin:0 0 10px}.muted{color:#6b7280}
section{background:#fff;border:1px solid #e3e6eb;border-radius:8px;padding:16px;margin:14px 0;
break-inside:avoid}.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}
.card{border:1px solid #e3e6eb;border-radius:6px;padding:10px}.vs{display:block}
.card b{display:block;font-size:20px}.card small{color:#6b7280}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f3}td.n,th.n{text-align:right}
.chart{width:100%;height:auto;font-size:11px;fill:#4b5563}.grid{stroke:#eef0f3}
.axis{stroke:#9aa1ab}.mark{stroke:#8a8f98;stroke-dasharray:3 3}.note{font-size:10px;fill:#555}
.legend span{margin-right:14px;font-size:12px}.lbl{padding:1px 8px;border-radius:10px;
font-size:12px;color:#fff}.good{background:#2a9d55}.warning{background:#d08a00}
.bad{background:#c03030}.remedy{border-left:4px solid #c03030;padding:8px 12px;
background:#fdf3f3;margin-top:10px}.fbar{display:flex;align-items:center;gap:8px;margin:3px 0}
.fname{width:110px}.fsvg{flex:1;height:18px}.fnum{width:90px;text-align:right}
@media print{body{background:#fff}main{padding:0}section{border:none;padding:8px 0}
@page{margin:14mm}}
"""


def _lbl(label: str | None, lang: str) -> str:
    if label is None:
        return '<span class="muted">-</span>'
    return f'<span class="lbl {label}">{texts.t(label, lang)}</span>'


def _card(title: str, value: str, sub: str = "", vs: str = "") -> str:
    extra = f'<small class="vs">{escape(vs)}</small>' if vs else ""
    return (f'<div class="card"><small>{escape(title)}</small><b>{escape(value)}</b>'
            f'<small>{escape(sub)}</small>{extra}</div>')


def _signed(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:+.0f}%"


def vs_line(r: dict[str, Any], key: str, lang: str) -> str:
    """`vs previous +12% · vs recent median -3%` when the report was compared with history."""
    c = r.get("compare", {}).get(key)
    if not c or (c["previous"] is None and c["median"] is None):
        return ""
    return (f'{texts.t("vs_previous", lang)} {_signed(c["vs_previous"])} · '
            f'{texts.t("vs_median", lang)} {_signed(c["vs_median"])}')


def _headline(r: dict[str, Any], lang: str) -> str:
    T = texts.tr(lang)
    target = "" if r["gmv_target"] is None else \
        f'{T("gmv_target")} {money(r["gmv_target"])} · {pct(r["gmv_attainment"])}'
    cards = [
        _card(T("gmv"), money(r["gmv"]), target, vs_line(r, "gmv", lang)),
        _card(T("orders"), num(r["orders"]), "", vs_line(r, "orders", lang)),
        _card(T("uv"), num(r["uv"]), "", vs_line(r, "uv", lang)),
        _card(T("pcu"), num(r["pcu"]), "", vs_line(r, "pcu", lang)),
        _card(T("avg_stay"), dur(r["avg_stay_ms"]),
              "" if r["avg_stay_target_ms"] is None else
              f'{T("target")} ≥ {dur(r["avg_stay_target_ms"])}', vs_line(r, "avg_stay_ms", lang)),
        _card(T("interaction_rate"), pct(r["interaction_rate"]),
              "" if r["interaction_target"] is None else
              f'{T("target")} ≥ {pct(r["interaction_target"])}',
              vs_line(r, "interaction_rate", lang)),
        _card(T("roi"), "-" if r["roi"] is None else f'{r["roi"]:.2f}',
              f'{T("ad_spend")} {money(r["ad_spend"])}', vs_line(r, "roi", lang)),
        _card(T("uv_value"), money(r["uv_value"]), f'{T("aov")} {money(r["aov"])}'),
    ]
    return f'<section><h2>{T("headline")}</h2><div class="cards">{"".join(cards)}</div></section>'


def _decomp(r: dict[str, Any], lang: str) -> str:
    d = r.get("compare", {}).get("gmv_decomposition")
    if not d or d["previous"] is None:
        return ""
    T = texts.tr(lang)
    fmt = {"exposures": num, "uv_per_exposure": pct, "uv_value": money}
    rows = "".join(
        f'<tr><td>{T(k)}</td><td class="n">{fmt[k](v)}</td><td class="n">'
        f'{fmt[k](d["previous"][k])}</td><td class="n">'
        f'{_signed(None if d["log_change"][k] is None else math.exp(d["log_change"][k]) - 1)}'
        f'</td></tr>' for k, v in d["factors"].items())
    most = "" if d["moved_most"] is None else \
        f'<p>{T("moved_most")}: <b>{T(d["moved_most"])}</b></p>'
    return (f'<section id="decomposition"><h2>{T("gmv_decomp")}</h2><table><tr><th></th>'
            f'<th class="n">{T("this")}</th><th class="n">{T("previous")}</th><th class="n">'
            f'{T("change")}</th></tr>{rows}</table>{most}</section>')


def _hist(step: dict[str, Any], lang: str) -> str:
    if "history_median" not in step:
        return ""
    return (f'<td class="n">{pct(step["history_median"])}</td>'
            f'<td>{_lbl(step["history_label"], lang)}</td>')


def _funnel(r: dict[str, Any], lang: str) -> str:
    T = texts.tr(lang)
    s = {x["step"]: x for x in r["funnel"]}
    counts = [(T("exposures"), s["entry"]["exposures"] or 0), (T("uv"), s["order"]["uv"] or 0),
              (T("click_users"), s["cart"]["click_users"] or 0),
              (T("cart_users"), s["cart"]["cart_users"] or 0),
              (T("buyers"), s["order"]["buyers"] or 0)]
    rows = "".join(
        f'<tr><td>{escape(texts.step_name(x["step"], lang))}</td><td class="n">{pct(x["rate"])}'
        f'</td><td class="n">{"-" if x["target"] is None else "≥ " + pct(x["target"])}</td>'
        f'<td>{_lbl(x["label"], lang)}</td>{_hist(x, lang)}</tr>' for x in r["funnel"])
    hist_head = f'<th class="n">{T("history")}</th><th></th>' if "compare" in r else ""
    weak = r["weakest"]
    tip = "" if weak is None else (
        f'<div class="remedy"><b>{T("weakest")}: {escape(texts.step_name(weak["step"], lang))}'
        f'</b> {_lbl(weak["label"], lang)}<br>{T("remedy")}: {escape(weak["remedy"])}</div>')
    bars = svg.funnel_bars(r["funnel"], counts, lang)
    return (f'<section id="funnel"><h2>{T("funnel")}</h2>{bars}'
            f'<table><tr><th>{T("step")}</th><th class="n">{T("rate")}</th><th class="n">'
            f'{T("target")}</th><th>{T("label")}</th>{hist_head}</tr>{rows}</table>{tip}'
            f'</section>')


def _sources(r: dict[str, Any], lang: str) -> str:
    T = texts.tr(lang)
    rows = "".join(
        f'<tr><td>{escape(texts.source_name(x["source"], lang))}</td><td class="n">'
        f'{num(x["entries"])}</td><td class="n">{pct(x["share"])}</td><td class="n">'
        f'{pct(x["entry_rate"])}</td><td class="n">{pct(x["conversion"])}</td>'
        f'<td>{_lbl(x["label"], lang)}</td></tr>' for x in r["sources"])
    ps = r["private_share"]
    split = "" if ps is None else f'<p>{T("public_private")}: {pct(1 - ps)} / {pct(ps)}</p>'
    return (f'<section><h2>{T("sources")}</h2>{split}<table><tr><th>{T("source")}</th>'
            f'<th class="n">{texts.t("count", lang)}</th><th class="n">{T("share")}</th>'
            f'<th class="n">{T("entry_rate")}</th><th class="n">{T("conversion")}</th>'
            f'<th>{T("band")}</th></tr>{rows}</table></section>')


def _products(r: dict[str, Any], lang: str) -> str:
    T = texts.tr(lang)
    rows = "".join(
        f'<tr><td>{i}</td><td>{escape(p["name"] or p["product_id"])}</td><td class="n">'
        f'{money(p["gmv"])}</td><td class="n">{num(p["orders"])}</td><td class="n">'
        f'{pct(p["ctr"])}</td><td class="n">{pct(p["cart_rate"])}</td><td class="n">'
        f'{pct(p["conversion"])}</td></tr>' for i, p in enumerate(r["products"], 1))
    return (f'<section><h2>{T("products")}</h2><table><tr><th>#</th><th>{T("product")}</th>'
            f'<th class="n">GMV</th><th class="n">{T("orders")}</th><th class="n">{T("ctr")}</th>'
            f'<th class="n">{T("cart_rate")}</th><th class="n">{T("conversion")}</th></tr>{rows}'
            f'</table></section>')


def _regions(r: dict[str, Any], lang: str) -> str:
    T = texts.tr(lang)
    if not r["regions"]:
        why = T("regions_off" if r.get("audience") == "off" else "regions_none")
        return f'<section><h2>{T("regions")}</h2><p class="muted">{why}</p></section>'
    rows = "".join(
        f'<tr><td>{escape(x["region"] or T("unknown"))}</td><td class="n">{num(x["uv"])}</td>'
        f'<td class="n">{pct(x["share"])}</td><td class="n">{dur(x["avg_stay_ms"])}</td>'
        f'<td class="n">{pct(x["interaction_rate"])}</td><td class="n">{pct(x["conversion"])}</td>'
        f'</tr>' for x in r["regions"])
    return (f'<section><h2>{T("regions")}</h2><table><tr><th>{T("region")}</th><th class="n">UV'
            f'</th><th class="n">{T("share")}</th><th class="n">{T("avg_stay")}</th>'
            f'<th class="n">{T("interaction_rate")}</th><th class="n">{T("conversion")}</th></tr>'
            f'{rows}</table></section>')


STATES = ("fired", "resolved", "acknowledged")


def _hosts(r: dict[str, Any], lang: str) -> str:
    T = texts.tr(lang)
    if not r["hosts"]:
        return f'<section><h2>{T("hosts")}</h2><p class="muted">{T("hosts_none")}</p></section>'
    rows = "".join(
        f'<tr><td>{escape(h["host_name"])}</td><td class="n">{h["minutes"]:.0f} '
        f'{T("minutes")}</td><td class="n">{num(h["uv"])}</td><td class="n">{money(h["gmv"])}'
        f'</td><td class="n">{money(h["gmv_per_minute"])}</td><td class="n">'
        f'{pct(h["interaction_rate"])}</td><td class="n">{pct(h["conversion"])}</td></tr>'
        for h in r["hosts"])
    # From history: minutes count whole for the host on air at their close; distinct users
    # come from per-host sketches, or add up minute by minute without them (minute_segments).
    bases = {h.get("basis") for h in r["hosts"]}
    note = f'<p class="muted">{T("hosts_minutes")}</p>' if "minutes" in bases else \
        f'<p class="muted">{T("hosts_sketch")}</p>' if "sketch" in bases else ""
    return (f'<section id="hosts"><h2>{T("hosts")}</h2><table><tr><th>{T("host")}</th>'
            f'<th class="n">{T("on_air")}</th><th class="n">UV</th><th class="n">GMV</th>'
            f'<th class="n">{T("gmv_per_minute")}</th><th class="n">{T("interaction_rate")}</th>'
            f'<th class="n">{T("conversion")}</th></tr>{rows}</table>{note}</section>')


def _ages(r: dict[str, Any], lang: str) -> str:
    T = texts.tr(lang)
    if not r["age_bands"]:
        return ""
    rows = "".join(
        f'<tr><td>{escape(x["age_band"] or T("unknown"))}</td><td class="n">{num(x["uv"])}</td>'
        f'<td class="n">{pct(x["share"])}</td><td class="n">{dur(x["avg_stay_ms"])}</td>'
        f'<td class="n">{pct(x["conversion"])}</td></tr>' for x in r["age_bands"])
    return (f'<section id="ages"><h2>{T("age_bands")}</h2><table><tr><th>{T("age_band")}</th>'
            f'<th class="n">UV</th><th class="n">{T("share")}</th><th class="n">'
            f'{T("avg_stay")}</th><th class="n">{T("conversion")}</th></tr>{rows}</table>'
            f'</section>')


def _roles(r: dict[str, Any], lang: str) -> str:
    T = texts.tr(lang)
    if not r["product_roles"]:
        return ""
    rows = "".join(
        f'<tr><td>{T("role_" + x["role"])}</td><td class="n">{x["products"]}</td>'
        f'<td class="n">{pct(x["share"])}</td><td class="n">{pct(x["plan_share"])}</td>'
        f'<td class="n">{money(x["gmv"])}</td><td class="n">{pct(x["gmv_share"])}</td></tr>'
        for x in r["product_roles"])
    return (f'<section id="roles"><h2>{T("roles")}</h2><table><tr><th>{T("role")}</th>'
            f'<th class="n">{T("product")}</th><th class="n">{T("share")}</th><th class="n">'
            f'{T("plan")}</th><th class="n">GMV</th><th class="n">GMV {T("share")}</th></tr>'
            f'{rows}</table></section>')


def _value(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def _effect(a: dict[str, Any]) -> str:
    """An acknowledgement's KPI 10 minutes before → 10 minutes after."""
    e = a["effect"]
    return f'{escape(e["kpi"])} {_value(e["before"])} → {_value(e["after"])} ' \
        f'({_signed(e["change"])})'


def _alerts(r: dict[str, Any], lang: str) -> str:
    T = texts.tr(lang)
    if not r["alerts"]:
        return f'<section><h2>{T("alerts")}</h2><p class="muted">{T("none")}</p></section>'
    rows = "".join(
        f'<tr><td>{svg.clock(a["at"], TZ)}</td><td>{escape(a["rule"])}</td>'
        f'<td>{T(a["state"]) if a["state"] in STATES else escape(a["state"])}'
        f'{" · " + escape(str(a["by"])) if a.get("by") else ""}</td>'
        f'<td class="n">{_effect(a) if a.get("effect") else _value(a.get("value"))}</td></tr>'
        for a in r["alerts"])
    tta = r["alerts_summary"]["median_time_to_ack_ms"]
    ack = "" if tta is None else f'<p>{T("time_to_ack")}: {dur(tta)}</p>'
    return (f'<section><h2>{T("alerts")}</h2>{ack}<table><tr><th>{T("time")}</th><th>'
            f'{T("alert_rule")}</th><th></th><th class="n"></th></tr>{rows}</table></section>')


def render_html(r: dict[str, Any]) -> str:
    lang = r["lang"]
    T = texts.tr(lang)
    b = r["broadcast"]
    start = datetime.fromtimestamp(b["start_ms"] / 1000, TZ).strftime("%Y-%m-%d %H:%M")
    end = "" if b["end_ms"] is None else \
        datetime.fromtimestamp(b["end_ms"] / 1000, TZ).strftime("–%H:%M")
    return (
        f'<!DOCTYPE html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{T("title")} · {escape(b["room_id"])}</title><style>{CSS}</style></head><body>'
        f'<main><h1>{T("title")} · {escape(b["room_id"])}</h1><p class="muted">'
        f'{T("broadcast")} {escape(b["id"])} · {start}{end} (UTC+8) · {b["minutes"]} '
        f'{T("minutes")}</p>{_headline(r, lang)}{_decomp(r, lang)}'
        f'<section id="curve"><h2>{T("curve")}</h2>{svg.curve(r["series"], r["annotations"], lang)}'
        f'</section>{_funnel(r, lang)}{_sources(r, lang)}{_products(r, lang)}{_regions(r, lang)}'
        f'{_hosts(r, lang)}{_ages(r, lang)}{_roles(r, lang)}'
        f'{_alerts(r, lang)}<p class="muted">{T("footer")}</p></main></body></html>\n')
