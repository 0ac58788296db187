"""Bounds on what producers can make the worker track: live rooms, and products per room.

A hostile or buggy producer can invent ids without end; every id costs Redis keys, alert series
and metric series downstream. Rooms beyond the cap are refused (dead letter `room_limit`,
logged once by the caller); products beyond a room's cap are folded into OTHER_PRODUCT, so the
room's own totals stay exact while the product breakdown is bounded.
"""

from __future__ import annotations

OTHER_PRODUCT = "__other__"


class LiveRooms:
    """Rooms seen in the last `idle_ms` (of the caller's clock), at most `cap` of them."""

    __slots__ = ("_last", "_products", "cap", "idle_ms", "max_products", "refused")

    def __init__(self, cap: int, idle_ms: int, max_products: int) -> None:
        self.cap, self.idle_ms, self.max_products = cap, idle_ms, max_products
        self._last: dict[str, int] = {}
        self._products: dict[str, set[str]] = {}
        self.refused = 0  # rooms refused since start (a metric)

    def __len__(self) -> int:
        return len(self._last)

    def admit(self, room: str, now_ms: int) -> bool:
        """True when `room` may be processed; a refused room is not remembered."""
        last = self._last
        if room in last:
            last[room] = now_ms
            return True
        if len(last) >= self.cap:
            self.expire(now_ms)
            if len(last) >= self.cap:
                self.refused += 1
                return False
        last[room] = now_ms
        return True

    def admit_all(self, rooms: set[str], now_ms: int) -> set[str]:
        """The rooms of `rooms` that are refused (usually none: one dict update in C)."""
        last = self._last
        new = rooms.difference(last)
        if not new or len(last) + len(new) <= self.cap:
            last.update(dict.fromkeys(rooms, now_ms))
            return set()
        last.update(dict.fromkeys(rooms - new, now_ms))
        return {r for r in sorted(new) if not self.admit(r, now_ms)}

    def expire(self, now_ms: int) -> int:
        """Drop rooms idle for longer than idle_ms; return how many left."""
        cutoff = now_ms - self.idle_ms
        gone = [r for r, t in self._last.items() if t < cutoff]
        for r in gone:
            del self._last[r]
            self._products.pop(r, None)
        return len(gone)

    def product(self, room: str, pid: str) -> str:
        """`pid`, or OTHER_PRODUCT once the room already has `max_products` others."""
        seen = self._products.get(room)
        if seen is None:
            seen = self._products[room] = set()
        if pid in seen:
            return pid
        if len(seen) >= self.max_products:
            return OTHER_PRODUCT
        seen.add(pid)
        return pid
