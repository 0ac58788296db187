"""A report made from a recording equals the simulator's truth, figure by figure."""

from __future__ import annotations

from collections import defaultdict

import pytest

from alerts.rules import RulePack
from alerts.targets import Targets
from streams.alerting.backtest import backtest_values
from streams.recordings import read_recording
from streams.report.funnel import WARNING_BAND, room_target
from streams.report.make import alert_timeline, data_from_recording, report_from_data

ROOM = "room-1"


@pytest.fixture(scope="module")
def data(recording):
    import asyncio

    return asyncio.run(data_from_recording(recording[0], ROOM))


@pytest.fixture(scope="module")
def report(data):
    return report_from_data(data, Targets.load())


@pytest.fixture(scope="module")
def truth(recording):
    return recording[1]["rooms"][ROOM]


def test_json_has_the_contract_keys(report):
    for key in ("gmv", "orders", "uv", "pcu", "roi", "funnel", "sources", "products", "regions",
                "hosts", "alerts"):
        assert key in report
    for step in report["funnel"]:
        assert {"step", "rate", "target", "label"} <= step.keys()


def test_headline_figures_equal_the_truth(report, truth, unique_events):
    t = truth["totals"]
    assert round(report["gmv"] * 100) == t["net_cents"] > 0
    assert report["orders"] == t["paid_orders"] > 0
    assert report["uv"] == t["distinct"]["uv"] > 0
    assert report["avg_stay_ms"] == pytest.approx(t["watch_ms"] / t["counts"]["enter"])
    assert report["interaction_rate"] == pytest.approx(
        t["distinct"]["interacting_users"] / t["distinct"]["uv"])
    ad_cents = sum(round(e["amount"] * 100) for e in unique_events
                   if e["room_id"] == ROOM and e["type"] == "ad_spend")
    assert round(report["ad_spend"] * 100) == ad_cents > 0
    assert report["roi"] == pytest.approx(t["net_cents"] / ad_cents)


def _truth_minutes(truth) -> list[tuple[int, int, int]]:
    """(minute, online at its end, net GMV cents) for every minute with events."""
    online, out = 0, []
    for minute, m in sorted(truth["minutes"].items(), key=lambda kv: int(kv[0])):
        online += m["counts"].get("enter", 0) - m["counts"].get("leave", 0)
        out.append((int(minute), online, m["net_cents"]))
    return out


def test_curve_pcu_and_gmv_per_minute_equal_the_truth(report, truth):
    expected = _truth_minutes(truth)
    series = {m["minute_ms"]: m for m in report["series"]}
    assert len(series) == len(expected) == 120
    for minute, online, cents in expected:
        assert series[minute]["online"] == online, minute
        assert round(series[minute]["gmv"] * 100) == cents, minute
    assert report["pcu"] == max(online for _, online, _ in expected)


def test_annotations_follow_the_control_events(report, unique_events):
    mine = [e for e in unique_events if e["room_id"] == ROOM]
    stages = [e["stage"] for e in mine if e["type"] == "stage_change"]
    assert [a["value"] for a in report["annotations"] if a["kind"] == "stage"] == stages
    ads = defaultdict(int)
    for e in mine:
        if e["type"] == "ad_spend":
            ads[e["ts"] - e["ts"] % 60_000] += round(e["amount"] * 100)
    got = {a["minute_ms"]: round(a["value"] * 100) for a in report["annotations"]
           if a["kind"] == "ad"}
    assert got == dict(ads)
    pins = [a for a in report["annotations"] if a["kind"] == "pin"]
    assert pins and all(isinstance(a["value"], str) for a in pins)


def test_funnel_counts_equal_the_truth_and_labels_follow_the_targets(report, truth):
    t = truth["totals"]
    steps = {s["step"]: s for s in report["funnel"]}
    assert steps["entry"]["exposures"] == t["counts"]["room_exposure"]
    assert steps["entry"]["entries"] == t["counts"]["enter"]
    assert steps["click"]["product_exposures"] == t["counts"]["product_exposure"]
    assert steps["click"]["product_clicks"] == t["counts"]["product_click"]
    assert steps["cart"]["click_users"] == t["distinct"]["click_users"]
    assert steps["cart"]["cart_users"] == t["distinct"]["cart_users"]
    assert steps["order"]["buyers"] == t["distinct"]["buyers"]
    targets = Targets.load()
    for s in report["funnel"]:
        target = room_target(targets, ROOM, "brand-1", s["kpi"], report["broadcast"]["start_ms"])
        assert s["target"] == target is not None
        want = ("good" if s["rate"] >= target else
                "warning" if s["rate"] >= target * (1 - WARNING_BAND) else "bad")
        assert s["label"] == want


def test_sources_and_products_equal_the_truth(report, truth):
    t = truth["totals"]
    got = {s["source"]: s for s in report["sources"]}
    assert {k: (v["entries"], v["exposures"]) for k, v in got.items()} == \
        {k: (v["entries"], v["exposures"]) for k, v in t["sources"].items()}
    total = t["counts"]["enter"]
    for src, s in got.items():
        assert s["share"] == pytest.approx(t["sources"][src]["entries"] / total)
    ranked = sorted(t["products"].items(),
                    key=lambda kv: (-(kv[1]["gmv_cents"] - kv[1]["refunded_cents"]),
                                    -kv[1]["orders"], kv[0]))[:10]
    assert [(p["product_id"], round(p["gmv"] * 100)) for p in report["products"]] == \
        [(pid, p["gmv_cents"] - p["refunded_cents"]) for pid, p in ranked]
    for p in report["products"]:
        tp = t["products"][p["product_id"]]
        assert p["ctr"] == pytest.approx(tp["clicks"] / tp["exposures"])
        assert p["cart_rate"] == pytest.approx(tp["cart_users"] / tp["click_users"])
        assert p["conversion"] == pytest.approx(tp["buyers"] / tp["click_users"])


def test_regions_recount(report, unique_events, truth):
    first: dict[str, str] = {}
    for e in unique_events:
        if e["room_id"] == ROOM and e["type"] == "enter" and e.get("user_id"):
            first.setdefault(e["user_id"], e.get("region"))
    counts = defaultdict(int)
    for region in first.values():
        counts[region] += 1
    assert {r["region"]: r["uv"] for r in report["regions"]} == dict(counts)
    assert sum(r["uv"] for r in report["regions"]) == truth["totals"]["distinct"]["uv"]
    assert sum(r["share"] for r in report["regions"]) == pytest.approx(1.0)


async def test_alerts_are_the_backtest_timeline(report, recording):
    values = [r.value for r in read_recording(recording[0])
              if (r.obj or {}).get("room_id", ROOM) == ROOM
              and (r.obj is not None or r.key == ROOM.encode())]
    res = await backtest_values(values, RulePack.load(), Targets.load())
    assert report["alerts"] == alert_timeline(res.transitions, ROOM)
    # the scripted low early interaction fires in room-1
    assert any(a["state"] == "fired" for a in report["alerts"])


def test_bad_messages_are_dead_lettered_as_the_simulator_expects(recording):
    import asyncio
    from collections import Counter

    from streams.report.recording import collect

    expected = Counter(r.expect for r in read_recording(recording[0])
                       if r.expect is not None and r.key == ROOM.encode())
    assert sum(expected.values()) > 10
    got = asyncio.run(collect(recording[0], ROOM)).dead_letters
    assert got == expected
