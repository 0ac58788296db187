"""Every KPI formula: values, numerators/denominators, zero denominators, refunds."""

from __future__ import annotations

import pytest

from schemas.kpis import ProductKpi, RoomKpi, SourceKpi
from streams.kpi.aggregates import ProductAgg, RoomAgg, SourceAgg
from streams.kpi.formulas import product_kpis, ratio, room_kpis, source_kpis


def test_every_contract_kpi_has_a_formula():
    assert set(room_kpis(RoomAgg())) == set(RoomKpi)
    assert set(product_kpis(ProductAgg())) == set(ProductKpi)
    assert set(source_kpis(SourceAgg())) == set(SourceKpi)


def test_zero_denominators_give_none_but_keep_parts():
    k = room_kpis(RoomAgg())
    for name in ("entry_rate", "avg_stay_ms", "interaction_rate", "ctr", "cart_rate", "order_rate",
                 "aov", "uv_value", "gpm", "private_domain_share", "repurchase_rate_7d",
                 "repurchase_rate_30d", "negative_comment_share"):
        assert k[name].value is None, name
        assert k[name].denominator == 0, name
    assert k["gmv"].value == 0


def test_room_rates():
    a = RoomAgg(exposures=200, entries=50, watch_ms=50 * 300_000, uv=40, interacting_users=10,
                product_exposures=80, product_clicks=20, click_users=16, cart_users=4, buyers=8,
                gmv_paid_cents=100_000, gmv_refunded_cents=20_000, private_domain_users=20,
                repeat_buyers_7d=2, repeat_buyers_30d=6, comments=25, negative_comments=5,
                ad_spend_cents=12_345, online_viewers=7, follows=3)
    k = room_kpis(a)
    assert k["entry_rate"].value == pytest.approx(0.25)
    assert (k["entry_rate"].numerator, k["entry_rate"].denominator) == (50, 200)
    assert k["avg_stay_ms"].value == 300_000
    assert k["interaction_rate"].value == pytest.approx(0.25)
    assert k["ctr"].value == pytest.approx(0.25)
    assert k["cart_rate"].value == pytest.approx(0.25)
    assert k["order_rate"].value == pytest.approx(0.2)
    assert k["gmv"].value == pytest.approx(800.0)  # paid 1000.00 minus refunded 200.00
    assert k["aov"].value == pytest.approx(100.0)
    assert k["aov"].numerator == pytest.approx(800.0) and k["aov"].denominator == 8
    assert k["uv_value"].value == pytest.approx(20.0)
    assert k["gpm"].value == pytest.approx(800.0 / 50 * 1000)
    assert k["private_domain_share"].value == pytest.approx(0.5)
    assert k["repurchase_rate_7d"].value == pytest.approx(0.25)
    assert k["repurchase_rate_30d"].value == pytest.approx(0.75)
    assert k["negative_comment_share"].value == pytest.approx(0.2)
    assert k["ad_spend"].value == pytest.approx(123.45)
    assert k["online_viewers"].value == 7
    assert k["new_followers"].value == 3


def test_refunds_can_make_gmv_negative_in_a_window():
    k = room_kpis(RoomAgg(gmv_refunded_cents=5_000, refunds=1))
    assert k["gmv"].value == pytest.approx(-50.0)
    assert k["refunds"].value == 1


def test_repurchase_rate_is_capped_at_one_against_hll_error():
    assert room_kpis(RoomAgg(buyers=100, repeat_buyers_7d=101))["repurchase_rate_7d"].value == 1.0
    assert ratio(3, 2).value == pytest.approx(1.5)  # uncapped rates are left alone


def test_product_and_source_rates():
    p = product_kpis(ProductAgg(exposures=10, clicks=5, click_users=4, cart_users=2, buyers=1,
                                gmv_paid_cents=999, gmv_refunded_cents=0))
    assert p["ctr"].value == pytest.approx(0.5)
    assert p["cart_rate"].value == pytest.approx(0.5)
    assert p["order_rate"].value == pytest.approx(0.25)
    assert p["gmv"].value == pytest.approx(9.99)
    s = source_kpis(SourceAgg(exposures=8, entries=2, all_entries=10))
    assert s["entry_rate"].value == pytest.approx(0.25)
    assert s["entry_share"].value == pytest.approx(0.2)
