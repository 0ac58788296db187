"""One valid example per event type: used by the docs generator and the tests."""

from __future__ import annotations

from typing import Any

NOW_MS = 1_795_305_600_000  # 2026-11-22T00:00:00Z
_BASE = {"room_id": "room-1", "ts": NOW_MS - 5_000, "platform": "douyin", "schema_version": 1}


def _ex(etype: str, n: int, **fields: Any) -> dict[str, Any]:
    user = {"user_id": f"u-{n:04d}"} if etype not in _CONTROL else {}
    return {"type": etype, "event_id": f"evt-{etype}-{n}", **_BASE, **user, **fields}


_CONTROL = {"broadcast_start", "broadcast_end", "stage_change", "phase_change", "product_pinned",
            "ad_spend", "stock_update", "host_change"}

EXAMPLES: dict[str, dict[str, Any]] = {
    "room_exposure": _ex("room_exposure", 1, source="recommend"),
    "enter": _ex("enter", 2, source="ads", region="Guangdong"),
    "leave": _ex("leave", 3, watch_ms=312_000),
    "comment": _ex("comment", 4, text="这个颜色还有吗？"),
    "like": _ex("like", 5, count=12),
    "share": _ex("share", 6),
    "follow": _ex("follow", 7),
    "private_domain_join": _ex("private_domain_join", 8, channel="wecom"),
    "product_exposure": _ex("product_exposure", 9, product_id="sku-1001"),
    "product_click": _ex("product_click", 10, product_id="sku-1001"),
    "cart_add": _ex("cart_add", 11, product_id="sku-1001", quantity=2),
    "order": _ex("order", 12, order_id="ord-88231", product_id="sku-1001", quantity=2,
                 amount=259.8, currency="CNY", status="paid", brand_id="brand-a"),
    "broadcast_start": _ex("broadcast_start", 13, title="双11 返场专场", brand_id="brand-a"),
    "broadcast_end": _ex("broadcast_end", 14),
    "stage_change": _ex("stage_change", 15, stage="conversion"),
    "phase_change": _ex("phase_change", 16, phase="live"),
    "product_pinned": _ex("product_pinned", 17, product_id="sku-1001", product_name="羊绒围巾"),
    "ad_spend": _ex("ad_spend", 18, amount=5000.0, currency="CNY",
                    audience_package="lookalike-buyers-30d"),
    "stock_update": _ex("stock_update", 19, product_id="sku-1001", stock=420),
    "host_change": _ex("host_change", 20, host_id="host-07", host_name="小雅"),
}
