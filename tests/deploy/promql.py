"""A small PromQL reader for the deploy tests: the metrics an expression selects, and how."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$\w+|\[\[\w+\]\])
  | (?P<num>\d[\w.]*|\.\d[\w.]*)
  | (?P<ident>[A-Za-z_:][\w:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@])
""", re.VERBOSE)
# Keywords that are not metric names; those followed by a label list are skipped with the list.
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
             "group_left", "group_right", "atan2", "inf", "nan"}
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


@dataclass
class Selector:
    """One vector selector: `metric{label op "value", ...}` (metric None for `{__name__=...}`)."""

    metric: str | None
    matchers: list[tuple[str, str, str]] = field(default_factory=list)


def tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise ValueError(f"cannot read PromQL at {expr[pos:pos + 20]!r} in {expr!r}")
        pos = m.end()
        if m.lastgroup not in ("ws", "comment"):
            out.append((m.lastgroup, m.group()))
    return out


def _unquote(s: str) -> str:
    return s[1:-1].encode().decode("unicode_escape") if s[0] != "`" else s[1:-1]


def selectors(expr: str) -> list[Selector]:
    """Every vector selector of `expr`; functions, aggregations, keywords, label lists, ranges,
    numbers, durations, strings and Grafana variables are not selectors."""
    toks = tokens(expr)
    found: list[Selector] = []
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "ident" and text.lower() in _KEYWORDS:
            i += 1
            if text.lower() in _LABEL_LISTS and nxt == "(":
                i = _skip_to(toks, i, ")")
            continue
        if kind == "ident" and (nxt == "(" or (nxt or "").lower() in ("by", "without")):
            i += 1  # a function or aggregation: its arguments are read as they come
            continue
        if text == "[":
            i = _skip_to(toks, i, "]")
            continue
        if kind == "ident" or text == "{":
            sel = Selector(text if kind == "ident" else None)
            i += 1 if kind == "ident" else 0
            if i < len(toks) and toks[i][1] == "{":
                i = _matchers(toks, i + 1, sel, expr)
            if sel.metric is None:
                names = [v for label, op, v in sel.matchers if label == "__name__" and op == "="]
                sel.metric = names[0] if names else None
            found.append(sel)
            continue
        i += 1
    return found


def metric_names(expr: str) -> set[str]:
    return {s.metric for s in selectors(expr) if s.metric}


def _skip_to(toks: list[tuple[str, str]], i: int, close: str) -> int:
    while i < len(toks) and toks[i][1] != close:
        i += 1
    return i + 1


def _matchers(toks, i: int, sel: Selector, expr: str) -> int:
    while i < len(toks) and toks[i][1] != "}":
        if toks[i][1] == ",":
            i += 1
            continue
        try:
            (lk, label), (_, op), (vk, value) = toks[i:i + 3]
        except ValueError:
            raise ValueError(f"unterminated label matchers in {expr!r}") from None
        if lk != "ident" or op not in ("=", "!=", "=~", "!~") or vk != "str":
            raise ValueError(f"bad label matcher {label} {op} {value} in {expr!r}")
        sel.matchers.append((label, op, _unquote(value)))
        i += 3
    if i >= len(toks):
        raise ValueError(f"unterminated label matchers in {expr!r}")
    return i + 1


def listed_values(op: str, value: str) -> list[str] | None:
    """The literal values a matcher names (`a|b|c` for =~), or None for a real regex."""
    if op in ("=", "!="):
        return [value]
    if re.fullmatch(r"[\w-]+(\|[\w-]+)*", value):
        return value.split("|")
    return None
