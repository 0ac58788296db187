"""Short host-facing nudge text: at most two lines (what happened, what to do), zh-CN default."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from alerts.model import Alert, AlertState, Severity

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[str, ...] = ("zh-CN", "en")

# A host glances at a phone or a prompter mid-broadcast: ~32 CJK characters per line.
DEFAULT_WIDTH = 64
ELLIPSIS = "…"

_PREFIX: dict[str, dict[str, str]] = {
    "zh-CN": {
        "critical": "【紧急】", "warning": "【注意】", "info": "【提示】", "resolved": "【已恢复】",
    },
    "en": {
        "critical": "[URGENT] ", "warning": "[HEADS-UP] ", "info": "[TIP] ", "resolved": "[OK] ",
    },
}
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class HostText:
    """A nudge in one language: `title` is line 1 (severity + summary), `action` line 2."""

    title: str
    action: str
    lang: str

    @property
    def lines(self) -> tuple[str, ...]:
        return (self.title, self.action) if self.action else (self.title,)

    def __str__(self) -> str:
        return "\n".join(self.lines)


def display_width(s: str) -> int:
    """Columns `s` takes: wide/fullwidth (CJK) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def shorten(s: str, width: int = DEFAULT_WIDTH) -> str:
    """One line: whitespace (newlines included) collapsed, cut to `width` columns with '…'."""
    s = _WS.sub(" ", s).strip()
    if display_width(s) <= width:
        return s
    out, used = [], display_width(ELLIPSIS)
    for c in s:
        w = display_width(c)
        if used + w > width:
            break
        out.append(c)
        used += w
    return "".join(out).rstrip() + ELLIPSIS


def severity_prefix(alert: Alert, lang: str = "zh-CN") -> str:
    table = _PREFIX.get(lang, _PREFIX["zh-CN"])
    key = "resolved" if alert.state == AlertState.resolved else Severity(alert.severity).value
    return table[key]


def host_text(alert: Alert, lang: str = "zh-CN", *, width: int = DEFAULT_WIDTH) -> HostText:
    """The ≤ 2-line nudge for `alert` in `lang` (falls back to zh-CN text, then to English)."""
    if lang not in LANGUAGES:
        lang = "zh-CN"
    summary, action = alert.text(lang)
    if not summary:
        summary, action = alert.text("en")
    summary = summary or alert.rule
    if alert.state == AlertState.resolved:
        action = ""
    prefix = severity_prefix(alert, lang)
    title = shorten(prefix + summary, width)
    line2 = shorten(action, width) if action else ""
    return HostText(title=title, action=line2, lang=lang)
