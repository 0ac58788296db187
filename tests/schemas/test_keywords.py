"""The shipped negative-comment keyword file: its format, its contents and example comments."""

from __future__ import annotations

import pytest

from schemas.keywords import (
    DEFAULT_KEYWORDS,
    MIN_KEYWORD_CHARS,
    KeywordFileError,
    is_negative_comment,
    load_keywords,
    parse_keywords,
)

# Complaints a live-commerce room sees, one language each; all must count as negative.
COMPLAINTS = {
    "zh-CN": ["这不是骗人吗", "虚假宣传，投诉你们", "又交智商税了", "货不对板", "半个月了还没发货",
              "坑人的东西", "假货！", "质量太差了", "客服不理人", "千万别买", "申请退款"],
    "zh-TW": ["根本是騙人", "虛假宣傳", "品質太差了", "等了兩週還沒出貨", "假貨別買", "我被騙了",
              "貨不對板", "客服態度差", "要退費", "智商稅"],
    "en": ["This is a SCAM", "my order never arrived", "poor quality, want my money back",
           "False advertising!", "stopped working after a day", "total rip-off",
           "it came damaged", "Counterfeit", "so disappointed", "don't buy this"],
}
# Ordinary comments, including ones that contain part of a keyword; none may count.
ORDINARY = {
    "zh-CN": ["主播好美", "几号发货", "能便宜点吗", "买过很好用", "特别好用", "质量怎么样",
              "有没有色差", "不掉色吗", "会不会起球", "物超所值", "真的假的，这么便宜",
              "值不值得买", "我特别买了两件", "买了不后悔", "不会让你失望的", "已下单，坐等收货"],
    "zh-TW": ["請問有貨嗎", "品質很好", "幾號出貨", "已下單", "好想要", "主播好漂亮", "會不會掉色",
              "真的假的", "這個好用嗎"],
    "en": ["love this", "how much?", "does it ship to SG?", "looks great", "familiar brand",
           "just ordered", "is the blue one in stock?", "when will it arrive?", "works great",
           "received mine yesterday, perfect"],
}


@pytest.mark.parametrize(("lang", "text"),
                         [(k, t) for k, ts in COMPLAINTS.items() for t in ts])
def test_complaints_are_negative(lang, text):
    assert is_negative_comment(text), f"{lang}: {text}"


@pytest.mark.parametrize(("lang", "text"),
                         [(k, t) for k, ts in ORDINARY.items() for t in ts])
def test_ordinary_comments_are_not(lang, text):
    assert not is_negative_comment(text), f"{lang}: {text}"


def test_issue_examples_and_their_traditional_forms_are_listed():
    assert {"骗人", "虚假宣传", "假货", "质量差", "退款", "不发货", "差评", "坑人", "智商税",
            "货不对板"} <= set(DEFAULT_KEYWORDS.zh_cn)
    assert {"騙人", "虛假宣傳", "假貨", "質量差", "品質差", "退款", "不發貨", "差評", "坑人",
            "智商稅", "貨不對板"} <= set(DEFAULT_KEYWORDS.zh_tw)
    assert {"scam", "fake", "refund", "broken", "never arrived"} <= set(DEFAULT_KEYWORDS.en)


def test_shipped_keywords_are_long_enough_and_unique_per_section():
    for words in (DEFAULT_KEYWORDS.zh_cn, DEFAULT_KEYWORDS.zh_tw, DEFAULT_KEYWORDS.en):
        assert len(set(words)) == len(words)
        assert all(len(w) >= MIN_KEYWORD_CHARS for w in words)
    assert all(len(w) >= 4 for w in DEFAULT_KEYWORDS.en)  # short English words hide in others


def test_format_sections_comments_and_bom(tmp_path):
    path = tmp_path / "kw.txt"
    path.write_text("\ufeff# mine\n[en]\nmeh  # inline comment\n\n[ZH-tw]\n難看\n",
                    encoding="utf-8")
    lists = load_keywords(path)
    assert (lists.zh_cn, lists.zh_tw, lists.en) == ((), ("難看",), ("meh",))
    assert lists.zh == ("難看",)


@pytest.mark.parametrize(("text", "problem"), [
    ("", "kw.txt: no keywords"),
    ("# only comments\n[en]\n", "kw.txt: no keywords"),
    ("骗人\n", "kw.txt:1: keyword '骗人' before any section"),
    ("[en]\nscam\n[fr]\narnaque\n", "kw.txt:3: unknown section [fr]"),
    ("[zh-CN]\n坑\n", "kw.txt:2: keyword '坑' is shorter than 2 characters"),
])
def test_invalid_files_name_the_file_and_line(tmp_path, text, problem):
    path = tmp_path / "kw.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KeywordFileError) as err:
        load_keywords(path)
    assert str(err.value).startswith(f"{tmp_path}/{problem}")
    assert "\n" not in str(err.value)


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(KeywordFileError, match=r"missing\.txt: cannot read: No such file"):
        load_keywords(tmp_path / "missing.txt")
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("[zh-CN]\n骗人\n".encode("gbk"))
    with pytest.raises(KeywordFileError, match=r"gbk\.txt:2: not valid UTF-8"):
        load_keywords(gbk)


def test_parse_names_what_it_was_given():
    with pytest.raises(KeywordFileError, match="^inline: no keywords"):
        parse_keywords("[en]", "inline")
