"""Negative-comment classifier: defaults agree with the simulator's rule; lists are configurable."""

from __future__ import annotations

import pytest

from schemas.keywords import is_negative_comment
from streams.kpi.config import KpiSettings
from streams.kpi.negative import NegativeClassifier

SAMPLES = ["这是假货吧", "騙子主播", "Total SCAM", "ripoff!", "好看", "love it", "", "refunded?",
           "太贵了吧", "請問有貨嗎", "not broken at all", "Broken zipper"]


@pytest.mark.parametrize("text", SAMPLES)
def test_defaults_match_the_shared_rule(text):
    assert NegativeClassifier().is_negative(text) == is_negative_comment(text)


def test_zh_and_en_examples():
    c = NegativeClassifier()
    assert c.is_negative("质量差，要退款")
    assert c.is_negative("FAKE product")
    assert not c.is_negative("主播好美")


def test_settings_override_and_extend():
    s = KpiSettings(negative_zh=["难看"], negative_en=["meh"], negative_extra=["差劲"])
    c = NegativeClassifier.from_settings(s)
    assert c.is_negative("有点难看") and c.is_negative("MEH") and c.is_negative("太差劲")
    assert not c.is_negative("假货")  # the default list was replaced


def test_empty_lists_mark_nothing():
    assert not NegativeClassifier(zh=[], en=[]).is_negative("骗子 scam")
