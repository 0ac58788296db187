"""Host text: at most two lines, zh-CN by default, width-limited for a glance mid-broadcast."""

from __future__ import annotations

from alerts.model import AlertState, Severity
from alerts.sinks.text import display_width, host_text, shorten
from tests.alerts.sinks.conftest import make_alert


def test_default_is_two_zh_lines_with_severity_prefix():
    t = host_text(make_alert(severity=Severity.critical))
    assert str(t) == "【紧急】商品「保温杯」加购率突增 35%\n立即延长该商品讲解时长"
    assert t.lang == "zh-CN" and len(t.lines) == 2


def test_english_and_fallback_to_zh():
    en = host_text(make_alert(), "en")
    assert en.title == "[HEADS-UP] Add-to-cart rate of 'Thermos' jumped 35%"
    no_en = make_alert(summary_en=None, action_en=None)
    assert host_text(no_en, "en").action == "立即延长该商品讲解时长"
    assert host_text(make_alert(), "fr").lang == "zh-CN"


def test_multiline_and_long_text_is_collapsed_and_cut():
    long = make_alert(summary_zh="第一行\n第二行\n" + "很长" * 100,
                      action_zh="做这个\n\n然后那个" * 20)
    t = host_text(long, width=40)
    assert str(t).count("\n") == 1
    assert all(display_width(line) <= 40 for line in t.lines)
    assert t.title.startswith("【注意】第一行 第二行") and t.title.endswith("…")


def test_resolved_is_one_line():
    t = host_text(make_alert(state=AlertState.resolved))
    assert t.lines == ("【已恢复】商品「保温杯」加购率突增 35%",)


def test_shorten_counts_cjk_as_double_width():
    assert display_width("ab保温") == 6
    assert shorten("保温杯保温杯", 7) == "保温杯…"
    assert shorten("short", 7) == "short"
