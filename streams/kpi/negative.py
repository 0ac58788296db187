"""Negative-comment classifier: zh and en keywords (case-insensitive substrings), one regex."""

from __future__ import annotations

import re
from collections.abc import Iterable

from schemas.keywords import NEGATIVE_KEYWORDS_EN, NEGATIVE_KEYWORDS_ZH
from streams.kpi.config import KpiSettings


class NegativeClassifier:
    """`is_negative(text)`: True when the lower-cased text contains any keyword.

    Same rule as schemas.keywords.is_negative_comment (the simulator's truth), compiled into one
    regex so that a comment costs one scan instead of one scan per keyword.
    """

    def __init__(
        self,
        zh: Iterable[str] = NEGATIVE_KEYWORDS_ZH,
        en: Iterable[str] = NEGATIVE_KEYWORDS_EN,
        extra: Iterable[str] = (),
    ) -> None:
        words = {w.strip().lower() for w in (*zh, *en, *extra) if w.strip()}
        self.keywords = frozenset(words)
        # Longest first so the alternation is deterministic; any match is enough anyway.
        pattern = "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))
        self._search = re.compile(pattern).search if pattern else None

    @classmethod
    def from_settings(cls, settings: KpiSettings) -> NegativeClassifier:
        return cls(
            zh=NEGATIVE_KEYWORDS_ZH if settings.negative_zh is None else settings.negative_zh,
            en=NEGATIVE_KEYWORDS_EN if settings.negative_en is None else settings.negative_en,
            extra=settings.negative_extra,
        )

    def is_negative(self, text: str) -> bool:
        return self._search is not None and self._search(text.lower()) is not None
