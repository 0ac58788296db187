"""Complaint keywords (zh-CN, zh-TW, en) that decide whether a comment counts as negative.

The default list is the data file `schemas/negative_keywords.txt` shipped in the package (users
copy and edit it; `ROOMPULSE_KPI_NEGATIVE_KEYWORDS_FILE` points the worker at the copy). The
simulator's truth and the KPI engine's default classifier both read it through this module and
match with `keyword_matcher`, so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from schemas.errors import SchemaError

DEFAULT_FILE_NAME = "negative_keywords.txt"
SECTIONS = ("zh-CN", "zh-TW", "en")
# One character (a Hanzi, a letter) matches far too many ordinary comments.
MIN_KEYWORD_CHARS = 2
_HEADER = re.compile(r"^\[(?P<name>[^\]]*)\]$")


class KeywordFileError(SchemaError, ValueError):
    """A keyword file is unreadable or invalid; the message is one line naming the file."""


@dataclass(frozen=True)
class KeywordLists:
    """The keywords of one file, by section, in file order."""

    zh_cn: tuple[str, ...]
    zh_tw: tuple[str, ...]
    en: tuple[str, ...]

    @property
    def zh(self) -> tuple[str, ...]:
        return self.zh_cn + self.zh_tw


def parse_keywords(text: str, name: str) -> KeywordLists:
    """Parse the keyword file format (see negative_keywords.txt); `name` appears in errors."""
    found: dict[str, list[str]] = {s: [] for s in SECTIONS}
    by_lower = {s.lower(): s for s in SECTIONS}
    section: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        header = _HEADER.match(line)
        if header:
            section = by_lower.get(header["name"].strip().lower())
            if section is None:
                raise KeywordFileError(
                    f"{name}:{number}: unknown section {line}; use one of "
                    + ", ".join(f"[{s}]" for s in SECTIONS))
            continue
        if section is None:
            raise KeywordFileError(f"{name}:{number}: keyword {line!r} before any section; "
                                   "put it under [zh-CN], [zh-TW] or [en]")
        if len(line) < MIN_KEYWORD_CHARS:
            raise KeywordFileError(f"{name}:{number}: keyword {line!r} is shorter than "
                                   f"{MIN_KEYWORD_CHARS} characters (it would match too much)")
        found[section].append(line)
    if not any(found.values()):
        raise KeywordFileError(f"{name}: no keywords (the file is empty or all comments): "
                               "it would mark no comment negative")
    return KeywordLists(tuple(found["zh-CN"]), tuple(found["zh-TW"]), tuple(found["en"]))


def load_keywords(path: str | Path) -> KeywordLists:
    """Read and parse a user's keyword file; every failure is a one-line KeywordFileError."""
    name = str(path)
    try:
        raw = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise KeywordFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")  # -sig: a BOM (Windows editors) is not a keyword
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise KeywordFileError(f"{name}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                               "save the file as UTF-8") from None
    return parse_keywords(text, name)


def default_keywords() -> KeywordLists:
    """The shipped list (package data, so a non-editable install has it too)."""
    resource = files("schemas").joinpath(DEFAULT_FILE_NAME)
    return parse_keywords(resource.read_text(encoding="utf-8"), f"schemas/{DEFAULT_FILE_NAME}")


def keyword_matcher(words: Iterable[str]) -> Callable[[str], bool]:
    """`match(text)`: True when the lower-cased text contains any (lower-cased) keyword.

    One compiled alternation, so a comment costs one scan instead of one per keyword."""
    unique = {w.strip().lower() for w in words if w.strip()}
    if not unique:
        return lambda text: False
    # Longest first so the alternation is deterministic; any match is enough anyway.
    search = re.compile("|".join(
        re.escape(w) for w in sorted(unique, key=lambda w: (-len(w), w)))).search
    return lambda text: search(text.lower()) is not None


DEFAULT_KEYWORDS = default_keywords()
NEGATIVE_KEYWORDS_ZH: tuple[str, ...] = DEFAULT_KEYWORDS.zh
NEGATIVE_KEYWORDS_EN: tuple[str, ...] = DEFAULT_KEYWORDS.en
_default_match = keyword_matcher((*NEGATIVE_KEYWORDS_ZH, *NEGATIVE_KEYWORDS_EN))


def is_negative_comment(text: str) -> bool:
    """True when the comment contains a keyword of the shipped list (the simulator's truth)."""
    return _default_match(text)
