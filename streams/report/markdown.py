"""The report as Markdown (for chat tools and wikis): the same content, tables instead of charts."""

from __future__ import annotations

from typing import Any

from streams.report import texts
from streams.report.format import dur, money, num, pct
from streams.report.html import vs_line


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    def esc(c: str) -> str:
        return c.replace("|", "\\|").replace("\n", " ")
    out = ["| " + " | ".join(map(esc, head)) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return out + [""]


def render_markdown(r: dict[str, Any]) -> str:
    lang = r["lang"]
    T = texts.tr(lang)

    def L(lbl: str | None) -> str:
        return "-" if lbl is None else T(lbl)

    b = r["broadcast"]
    out = [f"# {T('title')} · {b['room_id']}", "",
           f"{T('broadcast')} `{b['id']}` · {b['minutes']} {T('minutes')}", "",
           f"## {T('headline')}", ""]
    target = "" if r["gmv_target"] is None else \
        f" ({T('gmv_target')} {money(r['gmv_target'])}, {pct(r['gmv_attainment'])})"
    out += _table(["", "", ""], [
        [T("gmv"), money(r["gmv"]) + target, vs_line(r, "gmv", lang)],
        [T("orders"), num(r["orders"]), vs_line(r, "orders", lang)],
        [T("uv"), num(r["uv"]), vs_line(r, "uv", lang)],
        [T("pcu"), num(r["pcu"]), vs_line(r, "pcu", lang)],
        [T("avg_stay"), dur(r["avg_stay_ms"]), vs_line(r, "avg_stay_ms", lang)],
        [T("interaction_rate"), pct(r["interaction_rate"]),
         vs_line(r, "interaction_rate", lang)],
        [T("roi"), "-" if r["roi"] is None else f"{r['roi']:.2f}", vs_line(r, "roi", lang)],
        [T("ad_spend"), money(r["ad_spend"]), ""]])
    out += [f"## {T('funnel')}", ""]
    hist = "compare" in r
    out += _table([T("step"), T("rate"), T("target"), T("label")]
                  + ([T("history"), ""] if hist else []), [
        [texts.step_name(s["step"], lang), pct(s["rate"]),
         "-" if s["target"] is None else "≥ " + pct(s["target"]), L(s["label"])]
        + ([pct(s["history_median"]), L(s["history_label"])] if hist else [])
        for s in r["funnel"]])
    if r["weakest"]:
        w = r["weakest"]
        out += [f"**{T('weakest')}: {texts.step_name(w['step'], lang)}** — {w['remedy']}", ""]
    out += [f"## {T('sources')}", ""]
    out += _table([T("source"), T("count"), T("share"), T("entry_rate"), T("conversion"),
                   T("band")], [
        [texts.source_name(s["source"], lang), num(s["entries"]), pct(s["share"]),
         pct(s["entry_rate"]), pct(s["conversion"]), L(s["label"])] for s in r["sources"]])
    out += [f"## {T('products')}", ""]
    out += _table(["#", T("product"), "GMV", T("orders"), T("ctr"), T("cart_rate"),
                   T("conversion")], [
        [str(i), p["name"] or p["product_id"], money(p["gmv"]), num(p["orders"]), pct(p["ctr"]),
         pct(p["cart_rate"]), pct(p["conversion"])] for i, p in enumerate(r["products"], 1)])
    out += [f"## {T('regions')}", ""]
    if r["regions"]:
        out += _table([T("region"), "UV", T("share"), T("avg_stay"), T("interaction_rate"),
                       T("conversion")], [
            [x["region"] or T("unknown"), num(x["uv"]), pct(x["share"]), dur(x["avg_stay_ms"]),
             pct(x["interaction_rate"]), pct(x["conversion"])] for x in r["regions"]])
    else:
        out += [T("regions_off" if r.get("audience") == "off" else "regions_none"), ""]
    out += [f"## {T('alerts')}", ""]
    if r["alerts"]:
        out += _table([T("alert_rule"), "", "ms"], [
            [a["rule"], a["state"], str(a["at"])] for a in r["alerts"]])
    else:
        out += [T("none"), ""]
    return "\n".join(out)
