"""Window aggregates (sums of bucket counters plus distinct counts) and the bucket field codes."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.kpi import keys as K

# Room-level counter fields of a bucket hash -> RoomAgg attribute.
ROOM_FIELDS: dict[str, str] = {
    "exp": "exposures",
    "ent": "entries",
    "lv": "leaves",
    "wms": "watch_ms",
    "cmt": "comments",
    "neg": "negative_comments",
    "lk": "likes",
    "sh": "shares",
    "fl": "follows",
    "pdj": "private_domain_events",
    "pexp": "product_exposures",
    "pclk": "product_clicks",
    "cart": "cart_adds",
    "ord": "orders",
    "ref": "refunds",
    "gp": "gmv_paid_cents",
    "gr": "gmv_refunded_cents",
    "ad": "ad_spend_cents",
}
# Per-source fields `s:<source>:<code>` and per-product fields `p:<product_id>:<code>`.
SOURCE_FIELDS: dict[str, str] = {"exp": "exposures", "ent": "entries"}
PRODUCT_FIELDS: dict[str, str] = {
    "exp": "exposures", "clk": "clicks", "cart": "cart_adds", "ord": "orders", "ref": "refunds",
    "gp": "gmv_paid_cents", "gr": "gmv_refunded_cents",
}
ROOM_HLL_ATTR: dict[str, str] = {
    K.HLL_UV: "uv", K.HLL_INTERACT: "interacting_users", K.HLL_CLICK: "click_users",
    K.HLL_CART: "cart_users", K.HLL_BUY: "buyers", K.HLL_PRIVATE: "private_domain_users",
    K.HLL_REPEAT_7D: "repeat_buyers_7d", K.HLL_REPEAT_30D: "repeat_buyers_30d",
}
PRODUCT_HLL_ATTR: dict[str, str] = {
    K.HLL_CLICK: "click_users", K.HLL_CART: "cart_users", K.HLL_BUY: "buyers",
}


@dataclass(slots=True)
class RoomAgg:
    exposures: int = 0
    entries: int = 0
    leaves: int = 0
    watch_ms: int = 0
    comments: int = 0
    negative_comments: int = 0
    likes: int = 0
    shares: int = 0
    follows: int = 0
    private_domain_events: int = 0
    product_exposures: int = 0
    product_clicks: int = 0
    cart_adds: int = 0
    orders: int = 0
    refunds: int = 0
    gmv_paid_cents: int = 0
    gmv_refunded_cents: int = 0
    ad_spend_cents: int = 0
    uv: int = 0
    interacting_users: int = 0
    click_users: int = 0
    cart_users: int = 0
    buyers: int = 0
    private_domain_users: int = 0
    repeat_buyers_7d: int = 0
    repeat_buyers_30d: int = 0
    online_viewers: int = 0  # entries minus leaves over the broadcast so far, never below 0


@dataclass(slots=True)
class ProductAgg:
    exposures: int = 0
    clicks: int = 0
    cart_adds: int = 0
    orders: int = 0
    refunds: int = 0
    gmv_paid_cents: int = 0
    gmv_refunded_cents: int = 0
    click_users: int = 0
    cart_users: int = 0
    buyers: int = 0


@dataclass(slots=True)
class SourceAgg:
    exposures: int = 0
    entries: int = 0
    all_entries: int = 0  # entries of every source in the room, for the share


@dataclass(slots=True)
class SplitSums:
    """Summed bucket fields split by level: room codes, per source, per product."""

    room: dict[str, int] = field(default_factory=dict)
    sources: dict[str, dict[str, int]] = field(default_factory=dict)
    products: dict[str, dict[str, int]] = field(default_factory=dict)


def split_fields(summed: dict[str, int]) -> SplitSums:
    """Split summed hash fields into room, per-source and per-product counters."""
    out = SplitSums()
    for name, value in summed.items():
        if name.startswith("p:"):
            pid, _, code = name[2:].rpartition(":")
            out.products.setdefault(pid, {})[code] = value
        elif name.startswith("s:"):
            src, _, code = name[2:].rpartition(":")
            out.sources.setdefault(src, {})[code] = value
        else:
            out.room[name] = value
    return out


def room_agg(room: dict[str, int], distinct: dict[str, int], online: int) -> RoomAgg:
    agg = RoomAgg(online_viewers=max(0, online))
    for code, value in room.items():
        attr = ROOM_FIELDS.get(code)
        if attr is not None:
            setattr(agg, attr, value)
    for kind, value in distinct.items():
        setattr(agg, ROOM_HLL_ATTR[kind], value)
    return agg


def product_agg(counters: dict[str, int], distinct: dict[str, int]) -> ProductAgg:
    agg = ProductAgg()
    for code, value in counters.items():
        attr = PRODUCT_FIELDS.get(code)
        if attr is not None:
            setattr(agg, attr, value)
    for kind, value in distinct.items():
        setattr(agg, PRODUCT_HLL_ATTR[kind], value)
    return agg


def source_agg(counters: dict[str, int], all_entries: int) -> SourceAgg:
    return SourceAgg(counters.get("exp", 0), counters.get("ent", 0), all_entries)
