"""Every KPI formula, once: pure functions from window aggregates to KpiValue."""

from __future__ import annotations

from schemas.kpis import KpiValue, ProductKpi, RoomKpi, SourceKpi
from streams.kpi.aggregates import ProductAgg, RoomAgg, SourceAgg


def count(value: float) -> KpiValue:
    """A plain count or sum: no numerator/denominator."""
    return KpiValue(value=value)


def ratio(numerator: float, denominator: float, scale: float = 1.0,
          cap: float | None = None) -> KpiValue:
    """numerator / denominator * scale; None when the denominator is 0.

    `cap` bounds rates whose numerator is a subset of the denominator but are both
    HyperLogLog estimates (so the estimate alone could exceed 1 by the HLL error).
    """
    if not denominator:
        return KpiValue(value=None, numerator=numerator, denominator=denominator)
    value = numerator / denominator * scale
    if cap is not None and value > cap:
        value = cap
    return KpiValue(value=value, numerator=numerator, denominator=denominator)


def cents(value: int) -> float:
    """Storage keeps integer cents; KPIs report currency units."""
    return value / 100


def gmv_units(paid_cents: int, refunded_cents: int) -> float:
    """GMV = paid amounts minus refunded amounts (refunds subtract when they arrive)."""
    return cents(paid_cents - refunded_cents)


def room_kpis(a: RoomAgg) -> dict[str, KpiValue]:
    gmv = gmv_units(a.gmv_paid_cents, a.gmv_refunded_cents)
    return {
        RoomKpi.exposures: count(a.exposures),
        RoomKpi.entries: count(a.entries),
        RoomKpi.entry_rate: ratio(a.entries, a.exposures),
        RoomKpi.uv: count(a.uv),
        RoomKpi.online_viewers: count(a.online_viewers),
        RoomKpi.watch_ms_total: count(a.watch_ms),
        RoomKpi.avg_stay_ms: ratio(a.watch_ms, a.entries),
        RoomKpi.comments: count(a.comments),
        RoomKpi.likes: count(a.likes),
        RoomKpi.shares: count(a.shares),
        RoomKpi.new_followers: count(a.follows),
        RoomKpi.interacting_users: count(a.interacting_users),
        RoomKpi.interaction_rate: ratio(a.interacting_users, a.uv),
        RoomKpi.product_exposures: count(a.product_exposures),
        RoomKpi.product_clicks: count(a.product_clicks),
        RoomKpi.ctr: ratio(a.product_clicks, a.product_exposures),
        RoomKpi.cart_adds: count(a.cart_adds),
        RoomKpi.cart_users: count(a.cart_users),
        RoomKpi.cart_rate: ratio(a.cart_users, a.click_users),
        RoomKpi.orders: count(a.orders),
        RoomKpi.refunds: count(a.refunds),
        RoomKpi.buyers: count(a.buyers),
        RoomKpi.order_rate: ratio(a.buyers, a.uv),
        RoomKpi.gmv: count(gmv),
        RoomKpi.aov: ratio(gmv, a.buyers),
        RoomKpi.uv_value: ratio(gmv, a.uv),
        RoomKpi.gpm: ratio(gmv, a.entries, scale=1000.0),
        RoomKpi.private_domain_joins: count(a.private_domain_users),
        RoomKpi.private_domain_share: ratio(a.private_domain_users, a.uv),
        RoomKpi.repurchase_rate_7d: ratio(a.repeat_buyers_7d, a.buyers, cap=1.0),
        RoomKpi.repurchase_rate_30d: ratio(a.repeat_buyers_30d, a.buyers, cap=1.0),
        RoomKpi.negative_comments: count(a.negative_comments),
        RoomKpi.negative_comment_share: ratio(a.negative_comments, a.comments),
        RoomKpi.ad_spend: count(cents(a.ad_spend_cents)),
    }


def product_kpis(a: ProductAgg) -> dict[str, KpiValue]:
    return {
        ProductKpi.product_exposures: count(a.exposures),
        ProductKpi.product_clicks: count(a.clicks),
        ProductKpi.click_users: count(a.click_users),
        ProductKpi.ctr: ratio(a.clicks, a.exposures),
        ProductKpi.cart_adds: count(a.cart_adds),
        ProductKpi.cart_users: count(a.cart_users),
        ProductKpi.cart_rate: ratio(a.cart_users, a.click_users),
        ProductKpi.orders: count(a.orders),
        ProductKpi.buyers: count(a.buyers),
        ProductKpi.order_rate: ratio(a.buyers, a.click_users),
        ProductKpi.gmv: count(gmv_units(a.gmv_paid_cents, a.gmv_refunded_cents)),
    }


def source_kpis(a: SourceAgg) -> dict[str, KpiValue]:
    return {
        SourceKpi.exposures: count(a.exposures),
        SourceKpi.entries: count(a.entries),
        SourceKpi.entry_rate: ratio(a.entries, a.exposures),
        SourceKpi.entry_share: ratio(a.entries, a.all_entries),
    }
