"""Read one room's minute and broadcast figures from a KPI store, as plain JSON-able dicts.

The live history writer (over Redis) and `roompulse report --from-recording` (over the
in-memory store fed by the one ingest path) call the same two functions, so a report computes
the same figures whichever way its data came.
"""

from __future__ import annotations

from typing import Any

from schemas.kpis import KpiValue, RoomState
from streams.kpi.audience_store import read_minute as read_audience
from streams.kpi.store_base import KpiStoreBase

MINUTE_MS = 60_000
# Counts and sums kept for every minute (RoomKpi name -> short row key).
MINUTE_COUNTS = {
    "exposures": "exposures", "entries": "entries", "uv": "uv", "online_viewers": "online",
    "watch_ms_total": "watch_ms", "comments": "comments", "likes": "likes",
    "new_followers": "follows", "interacting_users": "interacting",
    "product_exposures": "product_exposures", "product_clicks": "product_clicks",
    "cart_adds": "cart_adds", "cart_users": "cart_users", "orders": "orders",
    "refunds": "refunds", "buyers": "buyers", "gmv": "gmv", "ad_spend": "ad_spend",
    "negative_comments": "negative_comments",
}


def _num(v: float | None) -> float | int:
    """Counts come back as floats from the formulas; keep whole numbers as ints."""
    if v is None:
        return 0
    return int(v) if float(v).is_integer() else v


def _kv(v: KpiValue) -> dict[str, Any]:
    return {"value": v.value, "numerator": v.numerator, "denominator": v.denominator}


def broadcast_id(room_id: str, start_ms: int) -> str:
    """A broadcast is its room and its start (ms); `@` never needs escaping in a URL path."""
    return f"{room_id}@{start_ms}"


STATE_KEYS = ("stage", "phase", "pin_id", "pin_name", "pin_role", "host_id", "host_name")


def state_fields(state: RoomState | None, minute_ms: int | None = None,
                 previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The room state a minute row keeps: stage, phase, pinned product (and its role) and the
    host on air.

    The state is read after the minute closed, sometimes a pass later. A host who took over
    after the minute (`host_since_ms` past its end) was not on air in it: the minute keeps the
    host of `previous` (the row of the minute before), or none when that is unknown.
    """
    if state is None:
        return dict.fromkeys(STATE_KEYS)
    host_id, host_name = state.host_id, state.host_name
    since = state.host_since_ms
    if minute_ms is not None and since is not None and since >= minute_ms + MINUTE_MS:
        prev = previous or {}
        host_id, host_name = prev.get("host_id"), prev.get("host_name")
    return {"stage": state.stage, "phase": state.phase, "pin_id": state.pinned_product_id,
            "pin_name": state.pinned_product_name, "pin_role": state.pinned_product_role,
            "host_id": host_id, "host_name": host_name}


async def read_minute(store: KpiStoreBase, room_id: str, minute_ms: int,
                      state: RoomState | None = None,
                      previous: dict[str, Any] | None = None, *,
                      broadcast_start_ms: int | None = None) -> dict[str, Any]:
    """The counts of [minute_ms, minute_ms + 1 min), online viewers at its end, and the room's
    stage/phase/pinned product/host as `state` gives them (the state when the minute closed;
    `previous`, the row before, for a host who took over later: see `state_fields`)."""
    end = minute_ms + MINUTE_MS - 1
    snap = await store.room_kpis(room_id, "1m", now_ms=end)
    k = snap.kpis
    row: dict[str, Any] = {"minute_ms": minute_ms}
    row.update({short: _num(k[name].value) for name, short in MINUTE_COUNTS.items()})
    # click users are the cart rate's denominator (a distinct count, so not a sum of anything)
    row["click_users"] = _num(k["cart_rate"].denominator)
    row["sources"] = {s.source: {"exposures": _num(s.kpis["exposures"].value),
                                 "entries": _num(s.kpis["entries"].value)}
                      for s in await store.source_kpis(room_id, "1m", now_ms=end)}
    # Viewers by region, age band and entry source of the broadcast (streams.kpi.audience; {}
    # when off or not asked)
    row["audience"] = {} if broadcast_start_ms is None else \
        await read_audience(store, room_id, minute_ms, broadcast_start_ms)
    row.update(state_fields(state, minute_ms, previous))
    return row


async def read_summary(store: KpiStoreBase, room_id: str, now_ms: int | None = None
                       ) -> dict[str, Any] | None:
    """The broadcast-to-date figures of the room's current broadcast (None: no broadcast)."""
    state = await store.room_state(room_id)
    if state is None or state.broadcast_start_ms is None:
        return None
    if now_ms is None:
        now_ms = state.broadcast_end_ms or state.last_event_ms or state.broadcast_start_ms
    room = await store.room_kpis(room_id, "broadcast", now_ms=now_ms)
    products = await store.product_kpis(room_id, "broadcast", now_ms=now_ms)
    sources = await store.source_kpis(room_id, "broadcast", now_ms=now_ms)
    return {
        "broadcast_id": broadcast_id(room_id, state.broadcast_start_ms),
        "room_id": room_id, "brand_id": state.brand_id, "platform": state.platform,
        "start_ms": state.broadcast_start_ms, "end_ms": state.broadcast_end_ms,
        "as_of_ms": now_ms,
        "room": {name: _kv(v) for name, v in sorted(room.kpis.items())},
        "products": [{"product_id": p.product_id, "name": p.product_name,
                      "kpis": {n: _kv(v) for n, v in sorted(p.kpis.items())}}
                     for p in products],
        "sources": [{"source": s.source, "kpis": {n: _kv(v) for n, v in sorted(s.kpis.items())}}
                    for s in sources],
    }
