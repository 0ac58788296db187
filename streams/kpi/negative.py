"""Negative-comment classifier: zh and en keywords (case-insensitive substrings), one regex."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from schemas.keywords import (
    DEFAULT_KEYWORDS,
    NEGATIVE_KEYWORDS_EN,
    NEGATIVE_KEYWORDS_ZH,
    KeywordFileError,
    KeywordLists,
    keyword_matcher,
    load_keywords,
)
from streams.kpi.config import KpiSettings

FILE_SETTING = "ROOMPULSE_KPI_NEGATIVE_KEYWORDS_FILE"


class NegativeClassifier:
    """`is_negative(text)`: True when the lower-cased text contains any keyword.

    With the default lists it is the same matcher as schemas.keywords.is_negative_comment (the
    simulator's truth).
    """

    def __init__(
        self,
        zh: Iterable[str] = NEGATIVE_KEYWORDS_ZH,
        en: Iterable[str] = NEGATIVE_KEYWORDS_EN,
        extra: Iterable[str] = (),
    ) -> None:
        words = (*zh, *en, *extra)
        self.keywords = frozenset(w.strip().lower() for w in words if w.strip())
        self.is_negative = keyword_matcher(words)

    @classmethod
    def from_settings(cls, settings: KpiSettings) -> NegativeClassifier:
        """The classifier the settings describe: the shipped list, or the keyword file, with
        `negative_zh` / `negative_en` replacing a language and `negative_extra` added.

        Cached: the engine builds a BatchFolder (and so asks for this) every batch; the file is
        read once per process. An invalid file raises KeywordFileError (one line)."""
        path = settings.negative_keywords_file
        base = DEFAULT_KEYWORDS if path is None else _file_lists(str(path))
        zh = base.zh if settings.negative_zh is None else tuple(settings.negative_zh)
        en = base.en if settings.negative_en is None else tuple(settings.negative_en)
        return _cached(zh, en, tuple(settings.negative_extra))


@lru_cache(maxsize=8)
def _file_lists(path: str) -> KeywordLists:
    try:
        return load_keywords(path)
    except KeywordFileError as exc:
        raise KeywordFileError(f"{FILE_SETTING}: {exc}") from None


@lru_cache(maxsize=8)
def _cached(zh: tuple[str, ...], en: tuple[str, ...],
            extra: tuple[str, ...]) -> NegativeClassifier:
    return NegativeClassifier(zh, en, extra)
