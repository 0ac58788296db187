"""A room KPI over a span of broadcast minutes, from history's minute rows
(streams.history.snapshot.read_minute), with the live KPI formulas (streams.kpi.formulas).

The rows are summed into the same RoomAgg the live store builds from its buckets, and the
KPI's own formula runs on it, so a rate is sum(numerator) / sum(denominator) exactly as live.
Over the rows (m-w, m] of a broadcast that started on a whole minute, the result equals the
live `w`-minute window read at the end of broadcast minute m.

What minute rows cannot give:
- distinct counts (UV, interacting, clicking, carting and buying users) over more than one
  minute: a row holds each minute's own distinct count, and a viewer present in five minutes
  is one viewer in the live 5m window but five in the sum. KPIs built on them are answered
  for one-minute windows only (ONE_MINUTE_ONLY).
- what the rows do not keep at all (NOT_STORED): shares, private-domain joins, repurchases.
- online viewers over `first:N`: live, the gauge is read now, not at the window's end.
- windows that are not whole minutes (`30s`), `broadcast`, and the first minutes of a
  broadcast, where the live window is still partly before the start (see `minute_span`).
"""

from __future__ import annotations

from typing import Any

from schemas.kpis import RoomKpi, parse_window
from streams.history.snapshot import MINUTE_MS
from streams.kpi.aggregates import RoomAgg
from streams.kpi.formulas import ROOM_FORMULAS

# Minute-row key -> RoomAgg attribute. Plain counts and sums: adding minutes is exact.
SUMMED = {
    "exposures": "exposures", "entries": "entries", "watch_ms": "watch_ms",
    "comments": "comments", "likes": "likes", "follows": "follows",
    "product_exposures": "product_exposures", "product_clicks": "product_clicks",
    "cart_adds": "cart_adds", "orders": "orders", "refunds": "refunds",
    "negative_comments": "negative_comments",
}
# Distinct counts of one minute: exact for that minute only.
DISTINCT = {
    "uv": "uv", "interacting": "interacting_users", "click_users": "click_users",
    "cart_users": "cart_users", "buyers": "buyers",
}
# Money: rows keep currency units (GMV net of refunds), the aggregate integer cents.
CENTS = {"gmv": "gmv_paid_cents", "ad_spend": "ad_spend_cents"}
# `online` is not summed: it is the broadcast-to-date gauge at the end of the last minute.
ONLINE = "online"

ONE_MINUTE_ONLY = frozenset({
    RoomKpi.uv, RoomKpi.interacting_users, RoomKpi.interaction_rate, RoomKpi.cart_users,
    RoomKpi.cart_rate, RoomKpi.buyers, RoomKpi.order_rate, RoomKpi.aov, RoomKpi.uv_value,
})
NOT_STORED = frozenset({
    RoomKpi.shares, RoomKpi.private_domain_joins, RoomKpi.private_domain_share,
    RoomKpi.repurchase_rate_7d, RoomKpi.repurchase_rate_30d,
})


def minute_span(window: str, minute: int) -> tuple[int, int] | None:
    """(first, last) broadcast-minute rows of `window` ending with minute `minute`, or None
    when minute rows cannot stand for the live window at every moment of that minute.

    The evaluator asks mid-minute (broadcast minute m = elapsed minutes, floored); the live
    window then ends where the stream is, the rows at a whole minute. So:
    - rolling `w`m: rows (m - w, m], once m >= w. Both hold w minutes of data, at most a minute
      apart. Before that the live window reaches back before the start and holds less than w
      minutes: compared with w whole minutes, every count would look low (no series, as a
      `change` rule has none until its windows lie inside the broadcast).
    - `first:N`: rows 0..N-1 once m >= N, when the live window is complete too (then equal).
    - `broadcast`: never; mid-minute it holds up to a minute less than rows 0..m.
    """
    if minute < 0:
        return None
    try:
        kind, length = parse_window(window)
    except ValueError:
        return None
    if kind == "broadcast" or length is None or length % MINUTE_MS:
        return None
    n = length // MINUTE_MS
    if minute < n:
        return None
    if kind == "first":
        return 0, n - 1
    return minute - n + 1, minute


def computable(kpi: str, window: str) -> bool:
    """Whether minute rows give `kpi` over `window` as the live store would."""
    if kpi not in ROOM_FORMULAS or kpi in NOT_STORED:
        return False
    kind, length = parse_window(window)
    if kpi in ONE_MINUTE_ONLY:
        return kind == "rolling" and length == MINUTE_MS
    # The live gauge is read now whatever the window; rows give it at a rolling window's end.
    return kpi != RoomKpi.online_viewers or kind == "rolling"


def aggregate(rows: list[dict[str, Any]]) -> RoomAgg:
    """The RoomAgg of consecutive minute rows (oldest first)."""
    agg = RoomAgg()
    for row in rows:
        for key, attr in SUMMED.items():
            setattr(agg, attr, getattr(agg, attr) + int(row.get(key) or 0))
        for key, attr in CENTS.items():
            setattr(agg, attr, getattr(agg, attr) + round(float(row.get(key) or 0) * 100))
    if len(rows) == 1:
        for key, attr in DISTINCT.items():
            setattr(agg, attr, int(rows[0].get(key) or 0))
    if rows:
        agg.online_viewers = max(0, int(rows[-1].get(ONLINE) or 0))
    return agg


def kpi_of_rows(kpi: str, window: str, rows: list[dict[str, Any]]) -> float | None:
    """`kpi` over the rows with the live formula; None when it is not computable from rows
    (see `computable`) or a rate has no denominator."""
    if not rows or not computable(kpi, window):
        return None
    return ROOM_FORMULAS[RoomKpi(kpi)](aggregate(rows)).value
