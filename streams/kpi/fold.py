"""BatchFolder: fold decoded events into per-room/product/source bucket deltas, in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.events import BaseEvent, Platform, Source
from streams.kpi import keys as K
from streams.kpi.config import KpiSettings
from streams.kpi.negative import NegativeClassifier

# Per-source field names, looked up by enum member (cheaper than formatting per event).
_SOURCE_ENT = {src: f"s:{src.value}:ent" for src in Source}
_SOURCE_EXP = {src: f"s:{src.value}:exp" for src in Source}


@dataclass(slots=True)
class RoomControl:
    """Room-state updates from control events in one batch (newest per kind)."""

    broadcast_start: int | None = None
    broadcast_end: int | None = None
    stamped: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)

    def stamp(self, name: str, ts: int, values: dict[str, str]) -> None:
        old = self.stamped.get(name)
        if old is None or ts >= old[0]:
            self.stamped[name] = (ts, values)


@dataclass(slots=True)
class Delta:
    """What one batch adds. The worker reads only event_count, rooms and max_event_ms."""

    event_count: int = 0
    rooms: set[str] = field(default_factory=set)
    max_event_ms: int | None = None
    counters: dict[tuple[str, int, str], int] = field(default_factory=dict)
    members: dict[tuple[str, int, str], set[str]] = field(default_factory=dict)
    product_members: dict[tuple[str, int, str, str], set[str]] = field(default_factory=dict)
    # (ts, room, user, brand or "") of paid orders, sorted: repurchase needs the order of time.
    purchases: list[tuple[int, str, str, str]] = field(default_factory=list)
    first_ms: dict[str, int] = field(default_factory=dict)
    last_ms: dict[str, int] = field(default_factory=dict)
    platform: dict[str, str] = field(default_factory=dict)
    control: dict[str, RoomControl] = field(default_factory=dict)
    product_names: dict[tuple[str, str], str] = field(default_factory=dict)


class BatchFolder:
    """`add` every decoded event of a batch (room and control events), then `take` the Delta.

    Deterministic: the same events in the same order give the same Delta. Cheap: one dict
    increment per counter, one set add per distinct-user kind, no model dumps.
    """

    def __init__(self, settings: KpiSettings) -> None:
        self.settings = settings
        self._bucket_ms = settings.bucket_ms
        self._negative = NegativeClassifier.from_settings(settings).is_negative
        self._delta = Delta()

    def take(self) -> Delta:
        delta, self._delta = self._delta, Delta()
        delta.purchases.sort()
        return delta

    def _member(self, room: str, bucket: int, kind: str, user: str) -> None:
        members = self._delta.members
        key = (room, bucket, kind)
        users = members.get(key)
        if users is None:
            members[key] = {user}
        else:
            users.add(user)

    def _product_member(self, room: str, bucket: int, kind: str, pid: str, user: str) -> None:
        members = self._delta.product_members
        key = (room, bucket, kind, pid)
        users = members.get(key)
        if users is None:
            members[key] = {user}
        else:
            users.add(user)

    def add(self, event: BaseEvent) -> None:  # noqa: C901 - one flat dispatch keeps it fast
        d = self._delta
        room = event.room_id
        ts = event.ts
        bucket = ts - ts % self._bucket_ms
        d.event_count += 1
        if d.max_event_ms is None or ts > d.max_event_ms:
            d.max_event_ms = ts
        last = d.last_ms.get(room)
        if last is None:
            d.rooms.add(room)
            d.first_ms[room] = d.last_ms[room] = ts
            if event.platform is not Platform.other:
                d.platform[room] = event.platform.value
        elif ts > last:
            d.last_ms[room] = ts
        elif ts < d.first_ms[room]:
            d.first_ms[room] = ts
        c = d.counters
        user = event.user_id
        kind = event.type  # type: ignore[attr-defined]
        if kind == "enter":
            k = (room, bucket, "ent")
            c[k] = c.get(k, 0) + 1
            k = (room, bucket, _SOURCE_ENT[event.source])  # type: ignore[attr-defined]
            c[k] = c.get(k, 0) + 1
            if user is not None:
                self._member(room, bucket, K.HLL_UV, user)
        elif kind == "like" or kind == "comment" or kind == "share" or kind == "follow":
            if kind == "like":
                k = (room, bucket, "lk")
                c[k] = c.get(k, 0) + event.count  # type: ignore[attr-defined]
            elif kind == "comment":
                k = (room, bucket, "cmt")
                c[k] = c.get(k, 0) + 1
                if self._negative(event.text):  # type: ignore[attr-defined]
                    k = (room, bucket, "neg")
                    c[k] = c.get(k, 0) + 1
            else:
                k = (room, bucket, "sh" if kind == "share" else "fl")
                c[k] = c.get(k, 0) + 1
            if user is not None:
                self._member(room, bucket, K.HLL_INTERACT, user)
        elif kind == "product_exposure":
            pid = event.product_id  # type: ignore[attr-defined]
            k = (room, bucket, "pexp")
            c[k] = c.get(k, 0) + 1
            k = (room, bucket, f"p:{pid}:exp")
            c[k] = c.get(k, 0) + 1
        elif kind == "room_exposure":
            k = (room, bucket, "exp")
            c[k] = c.get(k, 0) + 1
            k = (room, bucket, _SOURCE_EXP[event.source])  # type: ignore[attr-defined]
            c[k] = c.get(k, 0) + 1
        elif kind == "leave":
            k = (room, bucket, "lv")
            c[k] = c.get(k, 0) + 1
            k = (room, bucket, "wms")
            c[k] = c.get(k, 0) + event.watch_ms  # type: ignore[attr-defined]
        elif kind == "product_click" or kind == "cart_add":
            pid = event.product_id  # type: ignore[attr-defined]
            code, pcode, hll = (
                ("pclk", "clk", K.HLL_CLICK) if kind == "product_click"
                else ("cart", "cart", K.HLL_CART)
            )
            k = (room, bucket, code)
            c[k] = c.get(k, 0) + 1
            k = (room, bucket, f"p:{pid}:{pcode}")
            c[k] = c.get(k, 0) + 1
            if user is not None:
                self._member(room, bucket, hll, user)
                self._product_member(room, bucket, hll, pid, user)
        elif kind == "order":
            self._order(event, room, bucket, user)
        elif kind == "private_domain_join":
            k = (room, bucket, "pdj")
            c[k] = c.get(k, 0) + 1
            if user is not None:
                self._member(room, bucket, K.HLL_PRIVATE, user)
        else:
            self._control(event, kind, room, bucket, ts)

    def _order(self, event: BaseEvent, room: str, bucket: int, user: str | None) -> None:
        c = self._delta.counters
        pid = event.product_id  # type: ignore[attr-defined]
        status = event.status.value  # type: ignore[attr-defined]
        amount = event.amount_cents  # type: ignore[attr-defined]
        if status == "paid":
            codes = (("ord", 1), ("gp", amount))
            if user is not None:
                self._member(room, bucket, K.HLL_BUY, user)
                self._product_member(room, bucket, K.HLL_BUY, pid, user)
                self._delta.purchases.append((event.ts, room, user, event.brand_id or ""))
        elif status == "refunded":
            codes = (("ref", 1), ("gr", amount))
        else:  # created: not yet an order in any KPI
            return
        for code, n in codes:
            k = (room, bucket, code)
            c[k] = c.get(k, 0) + n
            k = (room, bucket, f"p:{pid}:{code}")
            c[k] = c.get(k, 0) + n

    def _control(self, event: BaseEvent, kind: str, room: str, bucket: int, ts: int) -> None:
        d = self._delta
        ctl = d.control.get(room)
        if ctl is None:
            ctl = d.control[room] = RoomControl()
        if kind == "ad_spend":
            k = (room, bucket, "ad")
            cents = round(event.amount * 100)  # type: ignore[attr-defined]
            d.counters[k] = d.counters.get(k, 0) + cents
        elif kind == "broadcast_start":
            if ctl.broadcast_start is None or ts > ctl.broadcast_start:
                ctl.broadcast_start = ts
            if event.brand_id is not None:
                ctl.stamp("brand", ts, {"brand": event.brand_id})
            if event.platform is not Platform.other:
                ctl.stamp("platform", ts, {"platform": event.platform.value})
        elif kind == "broadcast_end":
            if ctl.broadcast_end is None or ts > ctl.broadcast_end:
                ctl.broadcast_end = ts
        elif kind == "stage_change":
            ctl.stamp("stage", ts, {"stage": event.stage.value})  # type: ignore[attr-defined]
        elif kind == "phase_change":
            ctl.stamp("phase", ts, {"phase": event.phase.value})  # type: ignore[attr-defined]
        elif kind == "product_pinned":
            pid, name = event.product_id, event.product_name  # type: ignore[attr-defined]
            ctl.stamp("pin", ts, {"pin_id": pid, "pin_name": name})
            d.product_names[(room, pid)] = name
        # stock_update (and any future control type) only moves the room's clocks.
