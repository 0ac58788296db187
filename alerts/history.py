"""The `history` rule kind: a KPI against the same broadcast minute of the room's last N
broadcasts (their median), like a live diagnosis against the account's own history.

`alerts` never imports `streams`: the past values come through HistoryBaselines, a protocol
the alert runtime's KPI reader implements over the history store (streams/history/). A reader
without it gives the rule no series.
"""

from __future__ import annotations

from statistics import median
from typing import Literal, Protocol, runtime_checkable

from alerts.lifecycle import Cond
from alerts.model import Evidence
from alerts.reader import MaybeAwaitable
from schemas.kpis import KpiValue


@runtime_checkable
class HistoryBaselines(Protocol):
    def same_minute(self, room_id: str, kpi: str, window: str, minute: int, last: int
                    ) -> MaybeAwaitable[list[float]]:
        """The room KPI over `window` ending at broadcast minute `minute`, in each of the
        room's last `last` earlier broadcasts that reached that minute (newest first)."""


def history_reading(kpi: str, kv: KpiValue | None, past: list[float], window: str, *,
                    min_broadcasts: int, by: float,
                    direction: Literal["increase", "decrease"], recovery: float
                    ) -> tuple[Cond, Evidence] | None:
    """(condition, evidence): value / median(past) - 1 against `by` in `direction`.

    Fewer than `min_broadcasts` past values, or a zero median: no series (a baseline of one or
    two broadcasts is an anecdote, and a ratio to zero says nothing).
    """
    if kv is None or kv.value is None or len(past) < min_broadcasts:
        return None
    base = median(past)
    if not base:
        return None
    change = (kv.value / base - 1) * (1 if direction == "increase" else -1)
    if change > by:
        cond = Cond.breach
    else:
        cond = Cond.clear if change <= by * (1 - recovery) else Cond.hold
    ev = Evidence(kpi=kpi, value=kv.value, numerator=kv.numerator, denominator=kv.denominator,
                  window=window, target=by, baseline=base)
    return cond, ev
