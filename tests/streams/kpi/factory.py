"""Event builders for KPI tests: validated events at offsets from a fixed T0."""

from __future__ import annotations

import itertools
from typing import Any

from schemas.events import EVENT_ADAPTER, BaseEvent

T0 = 1_763_000_100_000  # a multiple of 10 s and of 5 min
MIN = 60_000
DAY = 86_400_000
_ids = itertools.count()


def ev(type_: str, at_ms: int = 0, room: str = "r1", user: str | None = "u1",
       **fields: Any) -> BaseEvent:
    """One validated event of `type_` at T0 + at_ms."""
    data = {"type": type_, "event_id": f"e{next(_ids)}", "room_id": room, "ts": T0 + at_ms,
            "user_id": user, **fields}
    return EVENT_ADAPTER.validate_python(data, context={"now_ms": T0 + 400 * DAY})


def order(at_ms: int, user: str | None = "u1", amount: float = 10.0, product: str = "p1",
          status: str = "paid", room: str = "r1", **fields: Any) -> BaseEvent:
    return ev("order", at_ms, room=room, user=user, order_id=f"o{next(_ids)}",
              product_id=product, amount=amount, status=status, **fields)
