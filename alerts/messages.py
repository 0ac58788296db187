"""Bilingual alert texts (zh-CN default, en): KPI names, value formats and the templates."""

from __future__ import annotations

import string

from alerts.conditions import Reading
from alerts.rules import Rule

KPI_NAMES: dict[str, tuple[str, str]] = {
    "exposures": ("曝光量", "exposures"), "entries": ("进入人数", "entries"),
    "entry_rate": ("进入率", "entry rate"), "uv": ("观看人数", "unique viewers"),
    "online_viewers": ("在线人数", "online viewers"),
    "avg_stay_ms": ("平均停留时长", "average stay"),
    "comments": ("互动留言数", "comments"), "new_followers": ("粉丝增长数", "new followers"),
    "interaction_rate": ("互动率", "interaction rate"), "ctr": ("商品点击率", "click-through rate"),
    "cart_rate": ("加购率", "add-to-cart rate"), "order_rate": ("下单率", "order rate"),
    "orders": ("成交笔数", "orders"), "gmv": ("GMV", "GMV"),
    "aov": ("客单价", "average order value"),
    "uv_value": ("UV价值", "UV value"), "gpm": ("千次观看成交额", "GPM"),
    "private_domain_share": ("私域引流占比", "private-domain share"),
    "repurchase_rate_7d": ("7日复购率", "7-day repurchase rate"),
    "repurchase_rate_30d": ("30日复购率", "30-day repurchase rate"),
    "negative_comment_share": ("负面评论占比", "negative-comment share"),
    "entry_share": ("来源进入占比", "entry share"), "silence_s": ("无数据时长", "silence"),
}
RATES = {"entry_rate", "interaction_rate", "ctr", "cart_rate", "order_rate",
         "private_domain_share", "repurchase_rate_7d", "repurchase_rate_30d",
         "negative_comment_share", "entry_share"}

DEFAULT_SUMMARY = {
    "below": (
        "{subject_zh}{kpi_zh}为{value}，低于目标{target}（{window}窗口，开播第{minutes}分钟）",
        ("{subject_en}{kpi_en} is {value}, below the target {target} ({window} window, "
         "minute {minutes} of the broadcast)"),
    ),
    "above": (
        "{subject_zh}{kpi_zh}为{value}，高于目标{target}（{window}窗口，开播第{minutes}分钟）",
        ("{subject_en}{kpi_en} is {value}, above the target {target} ({window} window, "
         "minute {minutes} of the broadcast)"),
    ),
    "change": (
        "{subject_zh}{kpi_zh}较{versus_zh}变化{change}（{baseline}→{value}，开播第{minutes}分钟）",
        ("{subject_en}{kpi_en} changed {change} vs {versus_en} ({baseline} → "
         "{value}, minute {minutes} of the broadcast)"),
    ),
    "pace": (
        ("{subject_zh}按当前节奏，本场{kpi_zh}预计{value}，仅为目标{target}的{share}"
         "（已达成{so_far}，开播第{minutes}分钟）"),
        ("{subject_en}at this pace {share} of the {kpi_en} target by the end ({value} of "
         "{target}; {so_far} so far, minute {minutes} of the broadcast)"),
    ),
    "no_data": (
        "{subject_zh}直播间已{value}无任何事件，疑似断流（开播第{minutes}分钟）",
        ("{subject_en}no events from the live room for {value}: stream interrupted? "
         "(minute {minutes} of the broadcast)"),
    ),
}
RESOLVED = ("【已恢复】", "[resolved] ")
# A resolved alert restates no breach: the reading may have recovered or the rule's scope
# (e.g. the first 30 minutes) may have ended, so it says what the KPI is now.
RESOLVED_SUMMARY = (
    "{subject_zh}{kpi_zh}预警解除，当前{value}（{window}窗口，开播第{minutes}分钟）",
    "{subject_en}{kpi_en} alert cleared, now {value} ({window} window, minute {minutes})",
)


def fmt(kpi: str, value: float | None) -> str:
    if value is None:
        return "—"
    if kpi in RATES:
        return f"{value * 100:.1f}%"
    if kpi.endswith("_ms"):
        return f"{value / 60_000:.1f} min"
    if kpi == "silence_s":
        return f"{value:.0f}s"
    if kpi in ("gmv", "aov", "uv_value", "gpm"):
        return f"{value:,.2f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


class _Safe(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, values: dict[str, str]) -> str:
    """str.format that leaves unknown placeholders as they are instead of failing."""
    return string.Formatter().vformat(template, (), _Safe(values))


def values_for(rule: Rule, reading: Reading, room_id: str, minutes: float | None) -> dict[str, str]:
    ev = reading.evidence
    product = reading.product_name or reading.product_id or ""
    zh_subj, en_subj = f"{room_id}：", f"{room_id}: "
    if product:
        zh_subj, en_subj = f"{room_id} 商品「{product}」", f"{room_id}, product “{product}”: "
    if reading.source:
        zh_subj = f"{room_id} 来源{reading.source}："
        en_subj = f"{room_id}, source {reading.source}: "
    change = ""
    if ev.baseline and ev.value is not None:
        change = f"{(ev.value / ev.baseline - 1) * 100:+.0f}%"
    share = ""  # pace rules: the projected total as a share of the goal
    if rule.kind == "pace" and ev.value is not None and ev.target:
        share = f"{ev.value / ev.target * 100:.0f}%"
    kpi_zh, kpi_en = KPI_NAMES.get(ev.kpi, (ev.kpi, ev.kpi.replace("_", " ")))
    target = "" if rule.kind in ("change", "history") else fmt(ev.kpi, ev.target)
    baseline = reading.versus or rule.baseline
    if baseline == "previous":
        versus = (f"前{ev.window}", f"the previous {ev.window}")
    elif baseline.startswith("history:"):
        n = baseline.split(":", 1)[1]
        versus = (f"近{n}场同一时刻中位数", f"the median of the last {n} broadcasts at this minute")
    elif baseline == "room":
        versus = ("直播间同期", "the room over the same window")
    elif baseline == "room_broadcast":
        versus = ("直播间本场此前", "the room earlier in the broadcast")
    elif baseline == "broadcast":
        versus = ("本场此前", "earlier in the broadcast")
    else:
        span = baseline.split(":", 1)[1]
        versus = (f"此前{span}", f"the {span} before")
    return {
        "versus_zh": versus[0], "versus_en": versus[1],
        "room": room_id, "product": product, "source": reading.source or "",
        "subject_zh": zh_subj, "subject_en": en_subj, "kpi": ev.kpi,
        "kpi_zh": kpi_zh, "kpi_en": kpi_en, "value": fmt(ev.kpi, ev.value), "target": target,
        "baseline": fmt(ev.kpi, ev.baseline), "change": change, "window": ev.window,
        "minutes": "—" if minutes is None else f"{minutes:.0f}",
        "numerator": fmt("", ev.numerator), "denominator": fmt("", ev.denominator),
        "so_far": fmt(ev.kpi, ev.numerator), "share": share,
    }


def texts(rule: Rule, reading: Reading, room_id: str, minutes: float | None,
          resolved: bool) -> tuple[dict[str, str], dict[str, str]]:
    """(summary, action), each {'zh-CN': ..., 'en': ...}."""
    vals = values_for(rule, reading, room_id, minutes)
    if rule.summary is not None:
        zh, en = rule.summary.zh, rule.summary.en
    elif rule.kind in ("change", "no_data", "pace"):
        zh, en = DEFAULT_SUMMARY[rule.kind]
    elif rule.kind == "history":
        zh, en = DEFAULT_SUMMARY["change"]
    else:
        below = (reading.labels.get("bound") == "min"
                 or (rule.kind == "threshold" and rule.below is not None))
        zh, en = DEFAULT_SUMMARY["below" if below else "above"]
    if resolved:
        zh, en = RESOLVED[0] + RESOLVED_SUMMARY[0], RESOLVED[1] + RESOLVED_SUMMARY[1]
    summary = {"zh-CN": render(zh, vals), "en": render(en, vals)}
    action = {k: render(v, vals) for k, v in rule.action.as_dict().items()}
    return summary, action
