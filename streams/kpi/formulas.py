"""Every KPI formula, once: pure functions from window aggregates to KpiValue."""

from __future__ import annotations

from collections.abc import Callable, Collection

from schemas.kpis import KpiValue, ProductKpi, RoomKpi, SourceKpi
from streams.kpi.aggregates import ProductAgg, RoomAgg, SourceAgg

# Built without validation, as validation would build them (numbers as float, the same fields
# set): an alert tick makes ~30 a room, ~70 on the ticks where every window slides a bucket,
# and validating them was a tenth of those ticks.
_new = KpiValue.model_construct


def _f(x: float | None) -> float | None:
    return x if x is None or type(x) is float else float(x)


def count(value: float) -> KpiValue:
    """A plain count or sum: no numerator/denominator."""
    return _new(value=_f(value))


def ratio(numerator: float, denominator: float, scale: float = 1.0,
          cap: float | None = None) -> KpiValue:
    """numerator / denominator * scale; None when the denominator is 0.

    `cap` bounds rates whose numerator is a subset of the denominator but are both
    HyperLogLog estimates (so the estimate alone could exceed 1 by the HLL error).
    """
    if not denominator:
        return _new(value=None, numerator=_f(numerator), denominator=_f(denominator))
    value = numerator / denominator * scale
    if cap is not None and value > cap:
        value = cap
    return _new(value=value, numerator=_f(numerator), denominator=_f(denominator))


def cents(value: int) -> float:
    """Storage keeps integer cents; KPIs report currency units."""
    return value / 100


def gmv_units(paid_cents: int, refunded_cents: int) -> float:
    """GMV = paid amounts minus refunded amounts (refunds subtract when they arrive)."""
    return cents(paid_cents - refunded_cents)


def _gmv(a: RoomAgg) -> float:
    return gmv_units(a.gmv_paid_cents, a.gmv_refunded_cents)


# One formula per room KPI: a reader that wants a few KPIs (the alert evaluator) computes only
# those.
ROOM_FORMULAS: dict[RoomKpi, Callable[[RoomAgg], KpiValue]] = {
    RoomKpi.exposures: lambda a: count(a.exposures),
    RoomKpi.entries: lambda a: count(a.entries),
    RoomKpi.entry_rate: lambda a: ratio(a.entries, a.exposures),
    RoomKpi.uv: lambda a: count(a.uv),
    RoomKpi.online_viewers: lambda a: count(a.online_viewers),
    RoomKpi.watch_ms_total: lambda a: count(a.watch_ms),
    RoomKpi.avg_stay_ms: lambda a: ratio(a.watch_ms, a.entries),
    RoomKpi.comments: lambda a: count(a.comments),
    RoomKpi.likes: lambda a: count(a.likes),
    RoomKpi.shares: lambda a: count(a.shares),
    RoomKpi.new_followers: lambda a: count(a.follows),
    RoomKpi.interacting_users: lambda a: count(a.interacting_users),
    RoomKpi.interaction_rate: lambda a: ratio(a.interacting_users, a.uv),
    RoomKpi.product_exposures: lambda a: count(a.product_exposures),
    RoomKpi.product_clicks: lambda a: count(a.product_clicks),
    RoomKpi.ctr: lambda a: ratio(a.product_clicks, a.product_exposures),
    RoomKpi.cart_adds: lambda a: count(a.cart_adds),
    RoomKpi.cart_users: lambda a: count(a.cart_users),
    RoomKpi.cart_rate: lambda a: ratio(a.cart_users, a.click_users),
    RoomKpi.orders: lambda a: count(a.orders),
    RoomKpi.refunds: lambda a: count(a.refunds),
    RoomKpi.buyers: lambda a: count(a.buyers),
    RoomKpi.order_rate: lambda a: ratio(a.buyers, a.uv),
    RoomKpi.gmv: lambda a: count(_gmv(a)),
    RoomKpi.aov: lambda a: ratio(_gmv(a), a.buyers),
    RoomKpi.uv_value: lambda a: ratio(_gmv(a), a.uv),
    RoomKpi.gpm: lambda a: ratio(_gmv(a), a.entries, scale=1000.0),
    RoomKpi.private_domain_joins: lambda a: count(a.private_domain_users),
    RoomKpi.private_domain_share: lambda a: ratio(a.private_domain_users, a.uv),
    RoomKpi.repurchase_rate_7d: lambda a: ratio(a.repeat_buyers_7d, a.buyers, cap=1.0),
    RoomKpi.repurchase_rate_30d: lambda a: ratio(a.repeat_buyers_30d, a.buyers, cap=1.0),
    RoomKpi.negative_comments: lambda a: count(a.negative_comments),
    RoomKpi.negative_comment_share: lambda a: ratio(a.negative_comments, a.comments),
    RoomKpi.ad_spend: lambda a: count(cents(a.ad_spend_cents)),
}


def room_kpis(a: RoomAgg, only: Collection[str] | None = None) -> dict[str, KpiValue]:
    """Every room KPI, or only those named in `only`."""
    return {k: f(a) for k, f in ROOM_FORMULAS.items() if only is None or k in only}


PRODUCT_FORMULAS: dict[ProductKpi, Callable[[ProductAgg], KpiValue]] = {
    ProductKpi.product_exposures: lambda a: count(a.exposures),
    ProductKpi.product_clicks: lambda a: count(a.clicks),
    ProductKpi.click_users: lambda a: count(a.click_users),
    ProductKpi.ctr: lambda a: ratio(a.clicks, a.exposures),
    ProductKpi.cart_adds: lambda a: count(a.cart_adds),
    ProductKpi.cart_users: lambda a: count(a.cart_users),
    ProductKpi.cart_rate: lambda a: ratio(a.cart_users, a.click_users),
    ProductKpi.orders: lambda a: count(a.orders),
    ProductKpi.buyers: lambda a: count(a.buyers),
    ProductKpi.order_rate: lambda a: ratio(a.buyers, a.click_users),
    ProductKpi.gmv: lambda a: count(gmv_units(a.gmv_paid_cents, a.gmv_refunded_cents)),
}


def product_kpis(a: ProductAgg, only: Collection[str] | None = None) -> dict[str, KpiValue]:
    """Every product KPI, or only those named in `only`."""
    return {k: f(a) for k, f in PRODUCT_FORMULAS.items() if only is None or k in only}


def source_kpis(a: SourceAgg) -> dict[str, KpiValue]:
    return {
        SourceKpi.exposures: count(a.exposures),
        SourceKpi.entries: count(a.entries),
        SourceKpi.entry_rate: ratio(a.entries, a.exposures),
        SourceKpi.entry_share: ratio(a.entries, a.all_entries),
    }
