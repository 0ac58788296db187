"""Alert texts: formats, placeholders, Simplified Chinese, every default rule renders."""

from alerts.conditions import Reading
from alerts.lifecycle import Cond
from alerts.messages import fmt, render, texts
from alerts.model import Evidence
from alerts.rules import RulePack
from tests.alerts.helpers import pack

# characters that exist only in Traditional Chinese; zh-CN texts must use the simplified forms
TRADITIONAL = set("講時長運營補貨準網絡啟動應預製單與價優碼點擊購轉擁體數據開裡")


def reading(kpi="interaction_rate", value=0.004, target=0.05, **kw) -> Reading:
    ev = Evidence(kpi=kpi, value=value, numerator=2, denominator=500, window="5m",
                  target=target, baseline=kw.pop("baseline", None))
    return Reading(Cond.breach, ev, kw.pop("labels", {"kpi": kpi, "bound": "min"}), **kw)


def test_formats():
    assert fmt("ctr", 0.0912) == "9.1%"
    assert fmt("avg_stay_ms", 270_000) == "4.5 min"
    assert fmt("gmv", 1234.5) == "1,234.50"
    assert fmt("orders", 12.0) == "12" and fmt("ctr", None) == "—"
    assert render("{room} {nope}", {"room": "r1"}) == "r1 {nope}"


def test_below_target_texts_in_both_languages():
    rule = RulePack.load().get("low-early-interaction")
    summary, action = texts(rule, reading(), "room-1", 12.4, resolved=False)
    assert summary["zh-CN"] == "room-1：互动率为0.4%，低于目标5.0%（5m窗口，开播第12分钟）"
    assert summary["en"] == ("room-1: interaction rate is 0.4%, below the target 5.0% "
                             "(5m window, minute 12 of the broadcast)")
    assert action == {"zh-CN": "追加精准人群包投放",
                      "en": "Increase targeted ad spend (add a precise audience package)"}
    resolved, _ = texts(rule, reading(), "room-1", 12.4, resolved=True)
    assert resolved["zh-CN"].startswith("【已恢复】room-1：")


def test_summary_override_and_source_subject():
    rule = pack({"id": "x", "kind": "threshold", "kpi": "entry_rate", "below": 0.1,
                 "fan_out": "source", "summary": {"zh-CN": "{source}来源进入率{value}",
                                                  "en": "{source} entry rate {value}"}})
    r = reading("entry_rate", 0.05, 0.1, labels={"source": "ads"}, source="ads")
    summary, _ = texts(rule.rules[0], r, "room-1", None, resolved=False)
    assert summary == {"zh-CN": "ads来源进入率5.0%", "en": "ads entry rate 5.0%"}


def test_every_default_rule_renders_fully_in_simplified_chinese():
    for rule in RulePack.load().rules:
        r = reading(rule.kpi or "ctr", 0.5, 0.3, baseline=0.25, product_id="p1",
                    product_name="精华液", labels={"product_id": "p1"})
        summary, action = texts(rule, r, "room-1", 10, resolved=False)
        for text in (*summary.values(), *action.values()):
            assert "{" not in text and "}" not in text, (rule.id, text)
        zh = summary["zh-CN"] + action["zh-CN"]
        assert not TRADITIONAL & set(zh), (rule.id, zh)
