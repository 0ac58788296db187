"""What the console shows, from the KPI store and the targets: room cards and room pages."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypedDict

from alerts.targets import KpiTarget, Targets
from schemas.kpis import ProductSnapshot, RoomSnapshot, RoomState, SourceSnapshot

SPARK_WINDOW = "1m"
HISTORY_MINUTES = 30
# Shown when the targets file sets nothing for the room's stage: the seeds' headline KPIs.
DEFAULT_KEY_KPIS = {
    "traffic": ("entry_rate", "avg_stay_ms", "interaction_rate", "new_followers"),
    "conversion": ("ctr", "cart_rate", "order_rate", "gmv"),
    "retention": ("private_domain_share", "repurchase_rate_7d", "avg_stay_ms"),
    None: ("entry_rate", "ctr", "order_rate", "gmv"),
}
DEFAULT_WINDOW = "5m"
FUNNEL = ("exposures", "entries", "product_clicks", "cart_adds", "orders")


class KpiReader(Protocol):
    """The read side of the KPI store (streams/kpi/store_redis.py RedisKpiStore)."""

    async def rooms(self) -> Iterable[RoomState]: ...
    async def room_state(self, room_id: str) -> RoomState | None: ...
    async def room_kpis(self, room_id: str, window: str,
                        now_ms: int | None = None) -> RoomSnapshot: ...
    async def product_kpis(self, room_id: str, window: str) -> list[ProductSnapshot]: ...
    async def source_kpis(self, room_id: str, window: str) -> list[SourceSnapshot]: ...


def kpi_kind(kpi: str) -> str:
    """How the page formats a value: rate (%), ms (minutes), money or count."""
    if kpi == "ctr" or kpi.endswith(("_rate", "_share")) or "_rate_" in kpi:
        return "rate"
    if kpi.endswith("_ms"):
        return "ms"
    if kpi in ("gmv", "aov", "uv_value", "gpm", "ad_spend"):
        return "money"
    return "count"


def judge(value: float | None, target: KpiTarget | None) -> str:
    """ok / below / above against the target's bounds; nodata without a value; none without a
    target."""
    if value is None:
        return "nodata"
    if target is None:
        return "none"
    if target.min is not None and value < target.min:
        return "below"
    if target.max is not None and value > target.max:
        return "above"
    return "ok"


def _value(snap: RoomSnapshot | None, kpi: str) -> float | None:
    if snap is None or kpi not in snap.kpis:
        return None
    return snap.kpis[kpi].value


def _now_of(state: RoomState) -> int:
    # Stream time when the room has events (simulations run on their own clock), else wall time.
    return state.last_event_ms or int(time.time() * 1000)


class FunnelStep(TypedDict):
    step: str
    value: float | None
    rate: float | None  # of the step before


class ProductRow(TypedDict):
    product_id: str
    product_name: str | None
    exposures: float | None
    clicks: float | None
    ctr: float | None
    cart_rate: float | None
    orders: float | None
    gmv: float | None
    pinned: bool


class SourceRow(TypedDict):
    source: str
    entries: float | None
    exposures: float | None
    entry_rate: float | None
    entry_share: float | None


class Readings:
    """Builds the JSON documents behind the overview and the room page."""

    def __init__(self, store: KpiReader,
                 targets: Targets | Callable[[], Targets] | None = None) -> None:
        self.store = store
        self.targets = targets

    async def states(self) -> list[RoomState]:
        rooms = [r if isinstance(r, RoomState) else RoomState(room_id=str(r))
                 for r in await self.store.rooms()]
        return sorted(rooms, key=lambda r: r.room_id)

    async def known(self, room_id: str) -> RoomState | None:
        return await self.store.room_state(room_id)

    async def overview(self, firing: dict[str, int] | None = None,
                       history: bool = False) -> list[dict[str, Any]]:
        firing = firing or {}
        cards = []
        for state in await self.states():
            card = await self.room_card(state, firing.get(state.room_id, 0))
            if history:
                card["history"] = await self.history(state, [k["kpi"] for k in card["kpis"]])
            cards.append(card)
        return cards

    async def overview_page(self, firing: dict[str, int] | None = None, history: bool = False,
                            *, limit: int = 60, offset: int = 0, text: str = "",
                            firing_only: bool = False, by_alerts: bool = False
                            ) -> dict[str, Any]:
        """One page of cards: rooms filtered (`text` in the room or brand id, firing only),
        ordered by id or by firing alerts first; only the page's cards are read."""
        firing = firing or {}
        needle = text.lower()
        states = [s for s in await self.states()
                  if (not needle or needle in s.room_id.lower()
                      or needle in (s.brand_id or "").lower())
                  and (not firing_only or firing.get(s.room_id, 0) > 0)]
        if by_alerts:
            states.sort(key=lambda s: (-firing.get(s.room_id, 0), s.room_id))
        cards = []
        for state in states[offset:offset + limit]:
            card = await self.room_card(state, firing.get(state.room_id, 0))
            if history:
                card["history"] = await self.history(state, [k["kpi"] for k in card["kpis"]])
            cards.append(card)
        return {"rooms": cards, "total": len(states), "offset": offset, "limit": limit}

    async def history(self, state: RoomState, kpis: list[str],
                      minutes: int = HISTORY_MINUTES) -> dict[str, list[float | None]]:
        """Per-minute 1m values of `kpis`, oldest first, the last one ending now (stream time)."""
        now_ms = _now_of(state)
        out: dict[str, list[float | None]] = {k: [] for k in kpis}
        for i in range(minutes - 1, -1, -1):
            snap = await self.store.room_kpis(state.room_id, SPARK_WINDOW,
                                              now_ms=now_ms - i * 60_000)
            for k in kpis:
                out[k].append(_value(snap, k))
        return out

    def _key_targets(self, state: RoomState, now_ms: int
                     ) -> tuple[str | None, str | None, list[tuple[str, KpiTarget | None]]]:
        stage, phase = state.stage, state.phase
        keyed: list[tuple[str, KpiTarget | None]] = []
        if self.targets is not None:
            # A callable follows the alert engine's hot-reloaded targets file.
            targets = self.targets() if callable(self.targets) else self.targets
            resolved = targets.resolve(state.room_id, state.brand_id, stage, phase, now_ms)
            stage, phase = resolved.stage, resolved.phase
            seen = set()
            for r in resolved.targets:
                if r.target.per == "room" and r.kpi not in seen:
                    seen.add(r.kpi)
                    keyed.append((r.kpi, r.target))
        if not keyed:
            keyed = [(k, None) for k in DEFAULT_KEY_KPIS.get(stage, DEFAULT_KEY_KPIS[None])]
        return stage, phase, keyed

    async def room_card(self, state: RoomState, firing: int = 0) -> dict[str, Any]:
        room_id = state.room_id
        now_ms = _now_of(state)
        stage, phase, keyed = self._key_targets(state, now_ms)
        windows = {SPARK_WINDOW} | {t.window if t else DEFAULT_WINDOW for _, t in keyed}
        snaps = {w: await self.store.room_kpis(room_id, w) for w in sorted(windows)}
        kpis = []
        for kpi, target in keyed:
            window = target.window if target else DEFAULT_WINDOW
            value = _value(snaps[window], kpi)
            kpis.append({
                "kpi": kpi, "kind": kpi_kind(kpi), "window": window, "value": value,
                "min": target.min if target else None, "max": target.max if target else None,
                "status": judge(value, target), "spark": _value(snaps[SPARK_WINDOW], kpi),
            })
        started = state.broadcast_start_ms
        return {
            "room_id": room_id, "brand_id": state.brand_id, "platform": state.platform,
            "stage": stage, "phase": phase, "live": state.live,
            "minutes_since_start": None if started is None or not state.live
            else max(0.0, (now_ms - started) / 60_000),
            "online_viewers": _value(snaps[SPARK_WINDOW], "online_viewers"),
            "pinned_product_id": state.pinned_product_id,
            "pinned_product_name": state.pinned_product_name,
            "last_event_ms": state.last_event_ms, "last_seen_ms": state.last_seen_ms,
            "kpis": kpis, "firing": firing,
        }

    async def room_page(self, state: RoomState, window: str) -> dict[str, Any]:
        room_id = state.room_id
        card = await self.room_card(state)
        snap = await self.store.room_kpis(room_id, window)
        funnel: list[FunnelStep] = []
        prev: float | None = None
        for step in FUNNEL:
            value = _value(snap, step)
            rate = value / prev if value is not None and prev else None
            funnel.append(FunnelStep(step=step, value=value, rate=rate))
            prev = value
        pinned = card["pinned_product_id"]
        products: list[ProductRow] = []
        for p in await self.store.product_kpis(room_id, window):
            k = {name: v.value for name, v in p.kpis.items()}
            products.append(ProductRow(
                product_id=p.product_id, product_name=p.product_name,
                exposures=k.get("product_exposures"), clicks=k.get("product_clicks"),
                ctr=k.get("ctr"), cart_rate=k.get("cart_rate"), orders=k.get("orders"),
                gmv=k.get("gmv"), pinned=p.product_id == pinned,
            ))
        products.sort(key=lambda p: (not p["pinned"], -(p["gmv"] or 0), -(p["exposures"] or 0)))
        sources: list[SourceRow] = []
        for s in await self.store.source_kpis(room_id, window):
            k = {name: v.value for name, v in s.kpis.items()}
            sources.append(SourceRow(source=s.source, entries=k.get("entries"),
                                     exposures=k.get("exposures"), entry_rate=k.get("entry_rate"),
                                     entry_share=k.get("entry_share")))
        sources.sort(key=lambda s: -(s["entries"] or 0))
        return {"room": card, "window": window, "funnel": funnel, "products": products,
                "sources": sources,
                "kpis": {k: v.value for k, v in snap.kpis.items()}, "as_of_ms": snap.info.as_of_ms}
