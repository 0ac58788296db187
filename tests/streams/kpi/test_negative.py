"""Negative-comment classifier: defaults agree with the simulator's rule; lists are configurable."""

from __future__ import annotations

import pytest

from schemas.keywords import KeywordFileError, is_negative_comment
from streams.kpi.config import KpiSettings
from streams.kpi.negative import NegativeClassifier

SAMPLES = ["这是假货吧", "騙子主播", "Total SCAM", "ripoff!", "好看", "love it", "", "refunded?",
           "太贵了吧", "請問有貨嗎", "not broken at all", "Broken zipper", "这不是骗人吗",
           "虛假宣傳", "NEVER ARRIVED", "几号发货", "İstanbul"]


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


def test_keyword_file_replaces_the_shipped_list(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("[zh-CN]\n难看\n[zh-TW]\n難看\n[en]\nmeh\n", encoding="utf-8")
    c = NegativeClassifier.from_settings(KpiSettings(negative_keywords_file=path))
    assert c.is_negative("有点难看") and c.is_negative("有點難看") and c.is_negative("MEH")
    assert not c.is_negative("骗人 scam")  # the shipped list is not merged in
    # The env lists still apply on top of the file: a language replaced, extras added.
    s = KpiSettings(negative_keywords_file=path, negative_en=["nope"], negative_extra=["差劲"])
    c = NegativeClassifier.from_settings(s)
    assert c.is_negative("难看") and c.is_negative("NOPE") and c.is_negative("太差劲")
    assert not c.is_negative("meh")


def test_keyword_file_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "env.txt"
    path.write_text("[en]\nmeh\n", encoding="utf-8")
    monkeypatch.setenv("ROOMPULSE_KPI_NEGATIVE_KEYWORDS_FILE", str(path))
    assert NegativeClassifier.from_settings(KpiSettings()).keywords == {"meh"}
    monkeypatch.setenv("ROOMPULSE_KPI_NEGATIVE_KEYWORDS_FILE", "")  # empty = unset
    assert KpiSettings().negative_keywords_file is None


def test_a_copy_of_the_shipped_file_classifies_like_the_truth(tmp_path):
    from importlib.resources import files

    copy = tmp_path / "copy.txt"
    copy.write_text(files("schemas").joinpath("negative_keywords.txt").read_text("utf-8"),
                    encoding="utf-8")
    c = NegativeClassifier.from_settings(KpiSettings(negative_keywords_file=copy))
    assert c.keywords == NegativeClassifier().keywords
    assert all(c.is_negative(t) == is_negative_comment(t) for t in SAMPLES)


def test_a_bad_file_is_one_line_naming_the_setting_and_file(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(KeywordFileError) as err:
        NegativeClassifier.from_settings(KpiSettings(negative_keywords_file=missing))
    assert str(err.value) == (f"ROOMPULSE_KPI_NEGATIVE_KEYWORDS_FILE: {missing}: cannot read: "
                              "No such file or directory")


def test_from_settings_is_cached_per_settings():
    s = KpiSettings(negative_extra=["差劲"])
    assert NegativeClassifier.from_settings(s) is NegativeClassifier.from_settings(s)
