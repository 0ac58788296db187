"""Complaint keyword lists (zh + en) that decide whether a comment counts as negative."""

from __future__ import annotations

# A comment is negative when it contains any of these (zh: substring; en: case-insensitive
# substring). The simulator's truth and the KPI engine must both use this one list.
NEGATIVE_KEYWORDS_ZH: tuple[str, ...] = (
    "退货", "退款", "假货", "太贵了", "骗子", "质量差", "垃圾", "差评", "不发货", "投诉",
    "退貨", "假貨", "太貴了", "騙子", "質量差", "品質差",
)
NEGATIVE_KEYWORDS_EN: tuple[str, ...] = (
    "refund", "fake", "scam", "rip-off", "ripoff", "broken", "terrible", "worst", "fraud",
)
_EN_LOWER = tuple(k.lower() for k in NEGATIVE_KEYWORDS_EN)


def is_negative_comment(text: str) -> bool:
    """True when the comment contains a complaint keyword from either list."""
    if any(k in text for k in NEGATIVE_KEYWORDS_ZH):
        return True
    lowered = text.lower()
    return any(k in lowered for k in _EN_LOWER)
