"""KPI read contract: names, windows and snapshot models shared by the engine and the alerts."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RoomKpi(StrEnum):
    """Per-room KPIs (see docs/kpis.md for every formula)."""

    exposures = "exposures"
    entries = "entries"
    entry_rate = "entry_rate"  # entries / exposures
    uv = "uv"  # distinct users who entered (HyperLogLog)
    online_viewers = "online_viewers"  # entered minus left, broadcast to date
    watch_ms_total = "watch_ms_total"
    avg_stay_ms = "avg_stay_ms"  # total watch time / entries
    comments = "comments"
    likes = "likes"
    shares = "shares"
    new_followers = "new_followers"
    interacting_users = "interacting_users"
    interaction_rate = "interaction_rate"  # distinct interacting users / UV
    product_exposures = "product_exposures"
    product_clicks = "product_clicks"
    ctr = "ctr"  # product clicks / product exposures
    cart_adds = "cart_adds"
    cart_users = "cart_users"
    cart_rate = "cart_rate"  # users who added to cart / users who clicked a product
    orders = "orders"  # paid orders
    refunds = "refunds"
    buyers = "buyers"
    order_rate = "order_rate"  # buyers / UV
    gmv = "gmv"  # paid amounts minus refunds, currency units
    aov = "aov"  # GMV / buyers
    uv_value = "uv_value"  # GMV / UV
    gpm = "gpm"  # GMV per 1,000 entries
    private_domain_joins = "private_domain_joins"
    private_domain_share = "private_domain_share"  # distinct joiners / UV
    repurchase_rate_7d = "repurchase_rate_7d"  # buyers who bought within 7 days before / buyers
    repurchase_rate_30d = "repurchase_rate_30d"
    negative_comments = "negative_comments"
    negative_comment_share = "negative_comment_share"  # negative comments / comments
    ad_spend = "ad_spend"


class ProductKpi(StrEnum):
    """Per-product KPIs within a room."""

    product_exposures = "product_exposures"
    product_clicks = "product_clicks"
    click_users = "click_users"
    ctr = "ctr"  # clicks / exposures
    cart_adds = "cart_adds"
    cart_users = "cart_users"
    cart_rate = "cart_rate"  # cart users / click users
    orders = "orders"
    buyers = "buyers"
    order_rate = "order_rate"  # buyers / click users
    gmv = "gmv"


class SourceKpi(StrEnum):
    """Per-traffic-source KPIs within a room."""

    exposures = "exposures"
    entries = "entries"
    entry_rate = "entry_rate"  # entries / exposures of that source
    entry_share = "entry_share"  # entries of that source / all entries


_WINDOW_RE = re.compile(r"^(?:(\d+)([smh])|broadcast|first:(\d+)([smh]))$")
_UNIT = {"s": 1_000, "m": 60_000, "h": 3_600_000}
STANDARD_WINDOWS = ("1m", "5m", "15m", "30m", "broadcast")


def parse_window(spec: str) -> tuple[str, int | None]:
    """`5m` -> ('rolling', 300000); `broadcast` -> ('broadcast', None);
    `first:30m` -> ('first', ms)."""
    m = _WINDOW_RE.match(spec.strip())
    if not m:
        raise ValueError(f"window {spec!r}: use e.g. 1m, 5m, 15m, 30m, broadcast or first:30m")
    if m.group(1):
        return "rolling", int(m.group(1)) * _UNIT[m.group(2)]
    if m.group(3):
        return "first", int(m.group(3)) * _UNIT[m.group(4)]
    return "broadcast", None


class KpiValue(BaseModel):
    """One KPI over one window; rates carry their numerator and denominator."""

    model_config = ConfigDict(frozen=True)

    value: float | None = Field(description="None when the denominator is 0")
    numerator: float | None = None
    denominator: float | None = None


class WindowInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    window: str
    start_ms: int
    end_ms: int
    as_of_ms: int | None = Field(None, description="wall time of the last apply (freshness)")


class RoomState(BaseModel):
    """What control events (or a schedule) say about a room right now."""

    room_id: str
    brand_id: str | None = None
    platform: str | None = None
    stage: str | None = None
    phase: str | None = None
    broadcast_start_ms: int | None = None
    broadcast_end_ms: int | None = None
    pinned_product_id: str | None = None
    pinned_product_name: str | None = None
    pinned_product_role: str | None = Field(None, description="the pin's role, when it named one")
    host_id: str | None = None
    host_name: str | None = None
    host_since_ms: int | None = Field(None, description="when the host on air took over")
    last_event_ms: int | None = Field(None, description="newest event time seen for the room")
    last_seen_ms: int | None = Field(None, description="wall time the newest event was applied")

    @property
    def live(self) -> bool:
        return self.broadcast_start_ms is not None and self.broadcast_end_ms is None


class RoomSnapshot(BaseModel):
    room_id: str
    info: WindowInfo
    kpis: dict[str, KpiValue]


class ProductSnapshot(BaseModel):
    room_id: str
    product_id: str
    product_name: str | None = None
    info: WindowInfo
    kpis: dict[str, KpiValue]


class SourceSnapshot(BaseModel):
    room_id: str
    source: str
    info: WindowInfo
    kpis: dict[str, KpiValue]
