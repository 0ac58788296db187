"""BatchFolder: fold decoded events into per-room/product/source bucket deltas, in memory."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    """What one batch adds. Besides the apply, the worker reads event_count, rooms, max_event_ms
    (lag metric) and clock_ms (the stream clock's candidate)."""

    event_count: int = 0
    rooms: set[str] = field(default_factory=set)
    max_event_ms: int | None = None
    # Counters per (room, bucket): hash field -> count, for the kinds counted at `take` (one
    # dict per bucket hash, as the apply writes it) ...
    fields: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)
    # ... and (room, bucket, field) -> amount for those added one event at a time (watch time,
    # orders, ad spend). A field may be in both: the apply adds them up (see `counter`).
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
    # The stream-clock candidate of the batch (a robust statistic, see ingest.timepolicy).
    clock_ms: int | None = None
    # Events the audience attribution needs (entries, leaves, interactions and orders with a
    # user, broadcast starts), in fold order, when KpiSettings.audience is on ...
    audience: list[Any] = field(default_factory=list)
    # ... and the hashes it adds (key -> field -> increment): streams.kpi.audience. Viewer
    # maps live as long as coarse buckets, minute counters as long as fine ones (history
    # reads a minute within ROOMPULSE_HISTORY_BACKFILL_MINUTES of its close).
    extra_hashes: dict[str, dict[str, int]] = field(default_factory=dict)
    extra_minutes: dict[str, dict[str, int]] = field(default_factory=dict)

    def counter(self, room: str, bucket: int, name: str) -> int:
        """The batch's total for one hash field (both homes above; 0 when none)."""
        return self.fields.get((room, bucket), {}).get(name, 0) + \
            self.counters.get((room, bucket, name), 0)


def _ignore(_: Any) -> None:
    """The audience sink when attribution is off."""


def robust_clock(room_last_ms: dict[str, int]) -> int:
    """The stream-clock candidate of a batch: the newest event time once the single most
    extreme room is left out.

    With three rooms or more the second-newest room's newest event is taken (one skewed room
    cannot drag the others' windows forward, while rooms that are catching up or sending late
    data cannot hold the clock back); with two rooms the older of the two; with one room the room
    is the whole stream.
    """
    values = sorted(room_last_ms.values())
    return values[0] if len(values) < 3 else values[-2]


# Enum fields are StrEnum members (compared by value and stored with str(): a plain string value
# reads the same).
_OTHER = Platform.other
_UV = K.HLL_UV

# Composite-key kinds of BatchFolder.add_all; `_expand` turns each into its hash fields.
_EXPOSURE, _PRODUCT_EXPOSURE, _ENTER, _LEAVE, _CLICK, _CART = "X", "PX", "E", "V", "K", "A"
_LIKE, _COMMENT, _PRIVATE = "L", "C", "J"
_INTERACTIONS = {"like": _LIKE, "comment": _COMMENT, "share": "sh", "follow": "fl"}
_SIMPLE = {_LEAVE: "lv", _PRIVATE: "pdj", "sh": "sh", "fl": "fl"}


def _expand(counted: Counter[tuple[Any, ...]],
            groups: dict[tuple[str, int], dict[str, int]]) -> None:
    """Add the hash fields of each distinct composite key, times its count, to the field dict
    of its (room, bucket): the fine bucket hash as the apply writes it, without a
    (room, bucket, field) key per counter to regroup there."""
    for (room, bucket, kind, detail), n in counted.items():
        c = groups.get((room, bucket))
        if c is None:
            c = groups[(room, bucket)] = {}
        if kind == _EXPOSURE:
            fields: tuple[tuple[str, int], ...] = (("exp", n), (_SOURCE_EXP[detail], n))
        elif kind == _PRODUCT_EXPOSURE:
            fields = (("pexp", n), (f"p:{detail}:exp", n))
        elif kind == _ENTER:
            fields = (("ent", n), (_SOURCE_ENT[detail], n))
        elif kind == _CLICK:
            fields = (("pclk", n), (f"p:{detail}:clk", n))
        elif kind == _CART:
            fields = (("cart", n), (f"p:{detail}:cart", n))
        elif kind == _LIKE:
            fields = (("lk", n * detail),)
        elif kind == _COMMENT:
            fields = (("cmt", n), ("neg", n)) if detail else (("cmt", n),)
        else:
            fields = ((_SIMPLE[kind], n),)
        for name, v in fields:
            c[name] = c.get(name, 0) + v


class BatchFolder:
    """`add` (or `add_all`) every decoded event of a batch, then `take` the Delta.

    Deterministic: the same events in the same order give the same Delta. Cheap: the common
    counters of an event are ONE composite key (room, bucket, kind, detail) appended to a list
    and counted in C at `take`, where each distinct key is expanded into its hash fields; one
    set add per distinct-user kind; no model dumps.
    """

    def __init__(self, settings: KpiSettings,
                 product_of: Callable[[str, str], str] | None = None) -> None:
        self.settings = settings
        # Maps (room, product_id) to the id to count under (the per-room product cap).
        self._product_of = product_of
        self._bucket_ms = settings.bucket_ms
        self._negative = NegativeClassifier.from_settings(settings).is_negative
        self._delta = Delta()
        self._keys: list[tuple[Any, ...]] = []
        self._audience = settings.audience

    def fresh(self) -> BatchFolder:
        """An empty folder with the same settings and product mapping."""
        return BatchFolder(self.settings, self._product_of)

    def take(self) -> Delta:
        delta, self._delta = self._delta, Delta()
        keys, self._keys = self._keys, []
        _expand(Counter(keys), delta.fields)
        if delta.last_ms:
            delta.max_event_ms = max(delta.last_ms.values())
            delta.clock_ms = robust_clock(delta.last_ms)
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

    def add(self, event: BaseEvent) -> None:
        self.add_all((event,))

    def add_all(self, events: Sequence[Any]) -> None:
        """Fold events, read by attribute: the contract's models or the worker's decoded events
        (`streams.ingest.fastdecode`, the same fields)."""
        d = self._delta
        bms = self._bucket_ms
        first, last, platforms = d.first_ms, d.last_ms, d.platform
        key = self._keys.append
        member = self._member
        members, counters = d.members, d.counters
        prod = self._product_of
        # A no-op sink when attribution is off: one call per collected event either way.
        aud = d.audience.append if self._audience else _ignore
        for e in events:
            room = e.room_id
            ts = e.ts
            bucket = ts - ts % bms
            seen = last.get(room)
            if seen is None:
                self._new_room(e, room, ts)
            else:
                if ts > seen:
                    last[room] = ts
                elif ts < first[room]:
                    first[room] = ts
                # The first event that names a platform names it, whatever the batch split.
                if e.platform != _OTHER and room not in platforms:
                    platforms[room] = str(e.platform)
            kind = e.type
            # The most frequent kinds first.
            if kind == "room_exposure":
                key((room, bucket, _EXPOSURE, e.source))
            elif kind == "product_exposure":
                pid = e.product_id if prod is None else prod(room, e.product_id)
                key((room, bucket, _PRODUCT_EXPOSURE, pid))
            elif kind == "enter":
                key((room, bucket, _ENTER, e.source))
                user = e.user_id
                if user is not None:  # self._member, inlined for the third most frequent kind
                    aud(e)
                    users = members.get((room, bucket, _UV))
                    if users is None:
                        members[(room, bucket, _UV)] = {user}
                    else:
                        users.add(user)
            elif kind == "leave":
                k = (room, bucket, "wms")
                counters[k] = counters.get(k, 0) + e.watch_ms
                key((room, bucket, _LEAVE, None))
                if e.user_id is not None:
                    aud(e)
            elif kind == "product_click" or kind == "cart_add":
                pid = e.product_id if prod is None else prod(room, e.product_id)
                click = kind == "product_click"
                key((room, bucket, _CLICK if click else _CART, pid))
                user = e.user_id
                if user is not None:
                    hll = K.HLL_CLICK if click else K.HLL_CART
                    member(room, bucket, hll, user)
                    self._product_member(room, bucket, hll, pid, user)
            elif kind in _INTERACTIONS:
                if kind == "like":
                    key((room, bucket, _LIKE, e.count))
                elif kind == "comment":
                    key((room, bucket, _COMMENT, self._negative(e.text)))
                else:
                    key((room, bucket, _INTERACTIONS[kind], None))
                if e.user_id is not None:
                    member(room, bucket, K.HLL_INTERACT, e.user_id)
                    aud(e)
            elif kind == "order":
                self._order(e, room, bucket, e.user_id)
                if e.user_id is not None:
                    aud(e)
            elif kind == "private_domain_join":
                key((room, bucket, _PRIVATE, None))
                if e.user_id is not None:
                    member(room, bucket, K.HLL_PRIVATE, e.user_id)
            else:
                self._control(e, kind, room, bucket, ts)
                if kind == "broadcast_start":
                    aud(e)
        d.event_count += len(events)

    def _new_room(self, e: Any, room: str, ts: int) -> None:
        d = self._delta
        d.rooms.add(room)
        d.first_ms[room] = d.last_ms[room] = ts
        if e.platform != _OTHER:
            d.platform[room] = str(e.platform)

    def _order(self, e: Any, room: str, bucket: int, user: str | None) -> None:
        c = self._delta.counters
        pid = e.product_id if self._product_of is None else self._product_of(room,
                                                                                e.product_id)
        status = e.status
        amount = round(e.amount * 100)  # as Order.amount_cents
        if status == "paid":
            codes = (("ord", 1), ("gp", amount))
            if user is not None:
                self._member(room, bucket, K.HLL_BUY, user)
                self._product_member(room, bucket, K.HLL_BUY, pid, user)
                self._delta.purchases.append((e.ts, room, user, e.brand_id or ""))
        elif status == "refunded":
            codes = (("ref", 1), ("gr", amount))
        else:  # created: not yet an order in any KPI
            return
        for code, n in codes:
            k = (room, bucket, code)
            c[k] = c.get(k, 0) + n
            k = (room, bucket, f"p:{pid}:{code}")
            c[k] = c.get(k, 0) + n

    def _control(self, e: Any, kind: str, room: str, bucket: int, ts: int) -> None:
        d = self._delta
        ctl = d.control.get(room)
        if ctl is None:
            ctl = d.control[room] = RoomControl()
        if kind == "ad_spend":
            k = (room, bucket, "ad")
            cents = round(e.amount * 100)
            d.counters[k] = d.counters.get(k, 0) + cents
        elif kind == "broadcast_start":
            if ctl.broadcast_start is None or ts > ctl.broadcast_start:
                ctl.broadcast_start = ts
            if e.brand_id is not None:
                ctl.stamp("brand", ts, {"brand": e.brand_id})
            if e.platform != _OTHER:
                ctl.stamp("platform", ts, {"platform": str(e.platform)})
        elif kind == "broadcast_end":
            if ctl.broadcast_end is None or ts > ctl.broadcast_end:
                ctl.broadcast_end = ts
        elif kind == "stage_change":
            ctl.stamp("stage", ts, {"stage": str(e.stage)})
        elif kind == "phase_change":
            ctl.stamp("phase", ts, {"phase": str(e.phase)})
        elif kind == "product_pinned":
            pid, name = e.product_id, e.product_name
            # Always stamped ("" when the producer gives none): a pin without a role must not
            # inherit the previous pin's.
            role = e.role
            ctl.stamp("pin", ts, {"pin_id": pid, "pin_name": name,
                                  "pin_role": str(role) if role is not None else ""})
            if self._product_of is None or self._product_of(room, pid) == pid:
                d.product_names[(room, pid)] = name
        elif kind == "host_change":
            ctl.stamp("host", ts, {"host_id": e.host_id, "host_name": e.host_name})
        # stock_update (and any future control type) only moves the room's clocks.
