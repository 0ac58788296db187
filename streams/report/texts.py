"""Every word of the review report (复盘), in zh-CN (default) and en."""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("zh-CN", "en")

_T: dict[str, tuple[str, str]] = {
    "title": ("直播复盘报告", "Broadcast review"),
    "room": ("直播间", "Room"),
    "broadcast": ("场次", "Broadcast"),
    "time": ("时间", "Time"),
    "headline": ("核心数据", "Headline figures"),
    "gmv": ("成交额 GMV", "GMV"),
    "gmv_target": ("GMV 目标", "GMV target"),
    "attainment": ("目标完成率", "of target"),
    "orders": ("成交订单", "Orders"),
    "uv": ("观看人数 UV", "Viewers (UV)"),
    "pcu": ("最高在线 PCU", "Peak concurrent viewers"),
    "avg_stay": ("平均停留", "Average stay"),
    "interaction_rate": ("互动率", "Interaction rate"),
    "roi": ("投放 ROI", "ROI (GMV / ad spend)"),
    "ad_spend": ("投放消耗", "Ad spend"),
    "aov": ("客单价", "Average order value"),
    "uv_value": ("UV 价值", "UV value"),
    "new_followers": ("新增粉丝", "New followers"),
    "curve": ("在线人数与每分钟成交额", "Online viewers and GMV per minute"),
    "online": ("在线人数", "online viewers"),
    "gmv_min": ("每分钟 GMV", "GMV per minute"),
    "events": ("关键动作", "What the team did"),
    "funnel": ("转化漏斗", "Conversion funnel"),
    "step": ("环节", "Step"),
    "rate": ("转化率", "Rate"),
    "target": ("目标", "Target"),
    "label": ("评估", "Verdict"),
    "count": ("人数/次数", "Count"),
    "exposures": ("曝光", "exposures"),
    "click_users": ("点击人数", "click users"),
    "cart_users": ("加购人数", "cart users"),
    "buyers": ("下单人数", "buyers"),
    "weakest": ("最薄弱环节", "Weakest step"),
    "remedy": ("改进建议", "What to do"),
    "all_good": ("各环节均达到目标。", "Every step met its target."),
    "sources": ("流量来源", "Traffic sources"),
    "source": ("来源", "Source"),
    "share": ("占比", "Share"),
    "entry_rate": ("进入率", "Entry rate"),
    "conversion": ("成交转化", "Conversion"),
    "band": ("健康区间", "Healthy band"),
    "public_private": ("公域 / 私域", "Public / private"),
    "products": ("商品 TOP 10（按 GMV）", "Top 10 products by GMV"),
    "product": ("商品", "Product"),
    "ctr": ("点击率", "CTR"),
    "cart_rate": ("加购率", "Cart rate"),
    "regions": ("地域", "Regions"),
    "region": ("地域", "Region"),
    "unknown": ("未知", "unknown"),
    "alerts": ("预警", "Alerts"),
    "alert_rule": ("规则", "Rule"),
    "fired": ("触发", "fired"),
    "resolved": ("恢复", "resolved"),
    "acknowledged": ("已确认", "acknowledged"),
    "time_to_ack": ("确认用时（中位）", "time to acknowledge (median)"),
    "none": ("无", "none"),
    "no_data": ("无数据", "no data"),
    "hosts": ("主播", "Hosts"),
    "host": ("主播", "Host"),
    "on_air": ("在播时长", "On air"),
    "gmv_per_minute": ("每分钟 GMV", "GMV per minute"),
    "age_bands": ("年龄段", "Age bands"),
    "age_band": ("年龄段", "Age band"),
    "roles": ("货盘结构（引流款:利润款:战略款 = 3:5:2）",
              "Product mix (traffic : profit : strategic = 3:5:2)"),
    "role": ("角色", "Role"),
    "plan": ("计划", "Plan"),
    "role_traffic": ("引流款", "traffic driver"),
    "role_profit": ("利润款", "profit"),
    "role_strategic": ("战略款", "strategic"),
    "hosts_none": ("本场无主播切换记录（需 host_change 事件）。",
                   "No host changes recorded (needs host_change events)."),
    "hosts_minutes": ("按分钟统计：每分钟计入该分钟结束时在播的主播；UV、互动率和转化率按分钟去重后"
                      "相加（同一观众在多个分钟出现会重复计入），适合主播之间比较，不宜与全场指标对比。",
                      "By minute: each minute counts for the host on air when it closed. UV, "
                      "interaction rate and conversion add each minute's distinct viewers (a "
                      "viewer active in several minutes counts in each): compare hosts with each "
                      "other, not with the broadcast's headline rates."),
    "hosts_sketch": ("按分钟统计：每分钟计入该分钟结束时在播的主播；UV、互动率和转化率为"
                     "该主播各分钟去重后的人数（HyperLogLog 估算，误差约 1%）。",
                     "By minute: each minute counts for the host on air when it closed. UV, "
                     "interaction rate and conversion count each viewer once across the host's "
                     "minutes (HyperLogLog estimates, about 1% error)."),
    "regions_none": ("事件未携带地域信息。", "The events carry no region."),
    "regions_off": ("本场历史未做受众归因：开启 ROOMPULSE_KPI_AUDIENCE=true，"
                    "或用录制文件生成报告。",
                    "No audience attribution in this broadcast's history: turn on "
                    "ROOMPULSE_KPI_AUDIENCE=true, or make the report from a recording."),
    "footer": ("由 roompulse 生成；数据与实时看板同源。",
               "Made by roompulse from the same figures as the live console."),
    "minutes": ("分钟", "min"),
    "vs_previous": ("较上场", "vs previous"),
    "vs_median": ("较近期中位", "vs recent median"),
    "history": ("历史中位", "Own history (median)"),
    "gmv_decomp": ("GMV 拆解：曝光 × 曝光转 UV × UV 价值",
                   "GMV = exposures × viewers per exposure × UV value"),
    "uv_per_exposure": ("曝光转 UV", "viewers per exposure"),
    "moved_most": ("较上场变化最大的因素", "Factor that moved most since the previous broadcast"),
    "this": ("本场", "This broadcast"),
    "previous": ("上场", "Previous"),
    "weekly_title": ("周度复盘", "Weekly review"),
    "week": ("周", "Week"),
    "broadcasts": ("场次", "Broadcasts"),
    "totals": ("合计", "Totals"),
    "trends": ("趋势", "Trends"),
    "trend": ("走势", "Trend"),
    "change": ("变化", "Change"),
    "rising": ("上升", "rising"),
    "falling": ("下降", "falling"),
    "flat": ("持平", "flat"),
    "cost_per_viewer": ("单 UV 投放成本", "Ad spend per viewer"),
    "alerts_most": ("触发最多的预警", "Alerts that fired most"),
    "times": ("次", "times"),
    "most_bad": ("最常为“差”的漏斗环节", "Funnel step most often bad"),
    "no_bad": ("本周没有环节被评为“差”。", "No step was bad this week."),
    "good": ("良好", "good"),
    "warning": ("预警", "warning"),
    "bad": ("差", "bad"),
    "stage": ("阶段", "stage"),
    "phase": ("时段", "phase"),
    "pin": ("置顶", "pinned"),
    "ad": ("投放", "ad spend"),
    "traffic": ("引流期", "traffic"),
    "conversion_stage": ("转化期", "conversion"),
    "retention": ("维稳期", "retention"),
    "warmup": ("预热期", "warm-up"),
    "live": ("直播期", "live"),
    "replay": ("返场期", "replay"),
}

STEPS: dict[str, tuple[str, str]] = {
    "entry": ("曝光→进入", "exposure → entry"),
    "click": ("商品曝光→点击", "product exposure → click"),
    "cart": ("点击→加购", "click → cart"),
    "order": ("观看→下单", "viewer → order"),
}

# The remedy for each weak step, in words an operator can act on (seed plan and guides).
REMEDIES: dict[str, tuple[str, str]] = {
    "entry": ("点击进入率低：优化封面图和标题，检查开播时间。",
              ("Few exposures become entries: improve the cover image and title, and check the "
               "start time.")),
    "click": ("商品点击率低：优化商品展示与讲解，调整置顶商品。",
              ("Few product exposures get a click: improve how products are shown and "
               "explained, and pin the product viewers ask about.")),
    "cart": ("加购率低：检查价格与优惠券，讲清卖点。",
             ("Clickers do not add to cart: review the price and vouchers, and explain the "
              "selling points.")),
    "order": ("下单率低：调整话术，加强限时优惠与逼单节奏。",
              ("Few viewers order: change the sales script - limited-time offers, clear calls "
               "to order.")),
}

SOURCES: dict[str, tuple[str, str]] = {
    "recommend": ("推荐（自然流量）", "recommendation (natural)"),
    "search": ("搜索", "search"), "follow": ("关注", "follow"),
    "ads": ("付费投放", "paid ads"), "short_video": ("短视频", "short video"),
    "private_domain": ("私域", "private domain"), "other": ("其他", "other"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def t(key: str, lang: str) -> str:
    return _pick(_T[key], lang)


def tr(lang: str) -> Callable[[str], str]:
    """`t` bound to one language."""
    def bound(key: str) -> str:
        return t(key, lang)
    return bound


def step_name(step: str, lang: str) -> str:
    return _pick(STEPS[step], lang)


def remedy(step: str, lang: str) -> str:
    return _pick(REMEDIES[step], lang)


def source_name(source: str, lang: str) -> str:
    return _pick(SOURCES[source], lang) if source in SOURCES else source


def stage_name(stage: str | None, lang: str) -> str:
    if stage is None:
        return "-"
    key = "conversion_stage" if stage == "conversion" else stage
    return t(key, lang) if key in _T else stage
