"""Ground truth: exact per-room, per-minute and whole-run counts of what was emitted."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import orjson

from schemas.keywords import is_negative_comment

TRUTH_FORMAT = "roompulse-truth/1"
DAY_MS = 24 * 3600 * 1000
INTERACTIONS = frozenset(("comment", "like", "share", "follow"))
_PRODUCT_COUNT = {"product_exposure": "exposures", "product_click": "clicks",
                  "cart_add": "cart_adds"}


def _product() -> dict:
    return {"exposures": 0, "clicks": 0, "cart_adds": 0, "cart_qty": 0, "orders": 0,
            "gmv_cents": 0, "refunds": 0, "refunded_cents": 0,
            "click_users": set(), "cart_users": set(), "buyers": set()}


class Agg:
    """Counters for one room over one span (a minute, or the whole run)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.users: dict[str, set[str]] = defaultdict(set)
        self.likes = self.watch_ms = self.gmv = self.refunded = 0
        self.paid_orders = self.refunds = self.negative_comments = 0
        self.products: dict[str, dict] = defaultdict(_product)
        self.sources: dict[str, dict] = defaultdict(lambda: {"exposures": 0, "entries": 0})

    def add(self, ev: dict) -> None:
        etype, user = ev["type"], ev.get("user_id")
        self.counts[etype] += 1
        if user is not None:
            self.users[etype].add(user)
        if etype == "like":
            self.likes += ev.get("count", 1)
        elif etype == "leave":
            self.watch_ms += ev["watch_ms"]
        elif etype == "comment":
            self.negative_comments += is_negative_comment(ev["text"])
        elif etype in ("room_exposure", "enter"):
            self.sources[ev.get("source", "other")][
                "exposures" if etype == "room_exposure" else "entries"] += 1
        elif etype in _PRODUCT_COUNT:
            p = self.products[ev["product_id"]]
            p[_PRODUCT_COUNT[etype]] += 1
            if etype == "product_click":
                p["click_users"].add(user)
            elif etype == "cart_add":
                p["cart_qty"] += ev.get("quantity", 1)
                p["cart_users"].add(user)
        elif etype == "order":
            cents = round(ev["amount"] * 100)
            p = self.products[ev["product_id"]]
            status = ev.get("status", "paid")
            if status == "paid":
                self.gmv += cents
                self.paid_orders += 1
                p["orders"] += 1
                p["gmv_cents"] += cents
                p["buyers"].add(user)
            elif status == "refunded":
                self.refunded += cents
                self.refunds += 1
                p["refunds"] += 1
                p["refunded_cents"] += cents

    def to_json(self) -> dict:
        return {
            "counts": dict(sorted(self.counts.items())),
            "users": {t: len(u) for t, u in sorted(self.users.items())},
            "likes": self.likes, "watch_ms": self.watch_ms,
            "gmv_paid_cents": self.gmv, "refunded_cents": self.refunded,
            "net_cents": self.gmv - self.refunded, "paid_orders": self.paid_orders,
            "refunds": self.refunds, "negative_comments": self.negative_comments,
            "products": {pid: {k: (len(v) if isinstance(v, set) else v) for k, v in p.items()}
                         for pid, p in sorted(self.products.items())},
            "sources": dict(sorted(self.sources.items())),
        }


class RoomTruth:
    def __init__(self) -> None:
        self.minutes: dict[int, Agg] = defaultdict(Agg)
        self.total = Agg()
        self.buyers: set[str] = set()
        self.repeat_7d: set[str] = set()
        self.repeat_30d: set[str] = set()


class Truth:
    """Feed it every emitted message (`observe`); each event_id is counted once."""

    def __init__(self, meta: dict[str, Any] | None = None) -> None:
        self.meta = meta or {}
        self.rooms: dict[str, RoomTruth] = defaultdict(RoomTruth)
        self.seen: set[str] = set()
        self.bad: Counter[str] = Counter()
        self.duplicates = 0
        self.messages = 0
        self._paid: dict[tuple[str | None, str], list[int]] = defaultdict(list)

    def observe(self, event: dict | None, expect: str | None = None) -> None:
        self.messages += 1
        if expect is not None:
            self.bad[expect] += 1
            return
        if event is None:
            raise ValueError("observe() needs the event unless a dead-letter reason is expected")
        if event["event_id"] in self.seen:
            self.duplicates += 1
            return
        self.seen.add(event["event_id"])
        room = self.rooms[event["room_id"]]
        ts = event["ts"]
        room.minutes[ts - ts % 60_000].add(event)
        room.total.add(event)
        if event["type"] == "order" and event.get("status", "paid") == "paid":
            self._repurchase(room, event)

    def _repurchase(self, room: RoomTruth, ev: dict) -> None:
        user, ts = ev.get("user_id"), ev["ts"]
        if user is None:
            return
        history = self._paid[(ev.get("brand_id"), user)]
        room.buyers.add(user)
        if any(ts - 7 * DAY_MS <= t < ts for t in history):
            room.repeat_7d.add(user)
        if any(ts - 30 * DAY_MS <= t < ts for t in history):
            room.repeat_30d.add(user)
        history.append(ts)

    def to_json(self) -> dict:
        rooms = {}
        for room_id, r in sorted(self.rooms.items()):
            users = r.total.users
            interacting = set().union(*(users.get(t, set()) for t in INTERACTIONS))
            totals = r.total.to_json()
            totals["distinct"] = {
                "uv": len(users.get("enter", ())), "interacting_users": len(interacting),
                "click_users": len(users.get("product_click", ())),
                "cart_users": len(users.get("cart_add", ())),
                "buyers": len(r.buyers),
                "private_domain_joiners": len(users.get("private_domain_join", ())),
            }
            totals["repurchase"] = {"buyers": len(r.buyers), "repeat_7d": len(r.repeat_7d),
                                    "repeat_30d": len(r.repeat_30d)}
            rooms[room_id] = {
                "minutes": {str(m): a.to_json() for m, a in sorted(r.minutes.items())},
                "totals": totals,
            }
        good = len(self.seen)
        return {
            "format": TRUTH_FORMAT, **self.meta, "rooms": rooms,
            "bad_events": dict(sorted(self.bad.items())),
            "duplicates_injected": self.duplicates,
            "messages": {"total": self.messages, "unique_events": good,
                         "bad": sum(self.bad.values()), "duplicates": self.duplicates},
        }

    def dumps(self) -> bytes:
        return orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2) + b"\n"
