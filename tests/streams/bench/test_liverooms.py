"""The live-rooms bench's pure parts: /metrics text, histogram quantiles, tick figures, traffic."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from streams.bench import promtext
from streams.bench.liveload import stays_live
from streams.bench.probes import WANTED, Scrape, summary

TICK = "roompulse_alert_evaluation_seconds"


def exposition(ticks: list[float], evaluated: int, live: int, skipped_total: int = 0) -> str:
    """Real prometheus-client output with the evaluator's metric names."""
    reg = CollectorRegistry()
    h = Histogram(TICK, "tick", registry=reg)
    for t in ticks:
        h.observe(t)
    Counter("roompulse_alert_rooms_evaluated_total", "x", registry=reg).inc(evaluated)
    Counter("roompulse_alert_rooms_skipped_total", "x", registry=reg).inc(skipped_total)
    g = Gauge("roompulse_alert_tick_rooms", "x", ["outcome"], registry=reg)
    g.labels("live").set(live)
    g.labels("evaluated").set(live)
    Gauge("roompulse_worker_live_rooms", "x", registry=reg).set(live)
    Gauge("roompulse_other", "not wanted", registry=reg).set(7)
    return generate_latest(reg).decode()


def test_parse_reads_only_the_wanted_samples_with_their_labels():
    s = promtext.parse(exposition([0.3], 10, 1000), WANTED)
    assert promtext.value(s, "roompulse_alert_tick_rooms", outcome="live") == 1000
    assert promtext.value(s, "roompulse_worker_live_rooms") == 1000
    assert promtext.value(s, "roompulse_alert_rooms_evaluated_total") == 10
    assert promtext.value(s, "roompulse_other") is None
    assert promtext.buckets(s, TICK)[-1] == (math.inf, 1.0)


def test_parse_names_a_malformed_line():
    with pytest.raises(ValueError, match="not a number"):
        promtext.parse('roompulse_alert_x{a="b"} twelve\n', WANTED)
    with pytest.raises(ValueError, match="unclosed"):
        promtext.parse('roompulse_alert_x{a="b" 1\n', WANTED)


def test_labels_with_several_pairs_are_sorted():
    s = promtext.parse('roompulse_alert_x{z="1",a="2"} 3\n', WANTED)
    assert promtext.value(s, "roompulse_alert_x", a="2", z="1") == 3


def test_quantile_interpolates_inside_the_bucket_like_prometheus():
    cum = [(0.5, 0.0), (1.0, 10.0), (math.inf, 10.0)]
    assert promtext.quantile(0.5, cum) == pytest.approx(0.75)
    assert promtext.quantile(0.99, cum) == pytest.approx(0.995)
    # A rank in the +Inf bucket: the highest finite bound, not infinity.
    assert promtext.quantile(0.99, [(1.0, 1.0), (math.inf, 10.0)]) == 1.0
    assert promtext.quantile(0.5, [(1.0, 0.0), (math.inf, 0.0)]) is None


def test_delta_is_what_was_observed_between_two_scrapes():
    before = [(0.5, 5.0), (1.0, 5.0), (math.inf, 5.0)]
    after = [(0.5, 5.0), (1.0, 9.0), (math.inf, 10.0)]
    assert promtext.delta(after, before) == [(0.5, 0.0), (1.0, 4.0), (math.inf, 5.0)]


def test_summary_counts_only_the_ticks_between_the_scrapes():
    before = Scrape(promtext.parse(exposition([0.01] * 5, 500, 100), WANTED), 1.0)
    # Five more ticks of 0.6 s, each evaluating all 100 rooms, plus 3 skipped ones.
    after = Scrape(promtext.parse(exposition([0.01] * 5 + [0.6] * 5, 1000, 100, 3), WANTED),
                   1.0)
    out = summary(before, after, wall_s=5.0)
    assert out["eval_ticks"] == 5
    assert out["eval_rooms_per_tick"] == 100
    assert out["eval_coverage"] == 1.0
    assert out["eval_rooms_skipped"] == 3
    assert out["eval_tick_mean_ms"] == pytest.approx(600.0)
    assert 500 < out["eval_tick_p50_ms"] <= 750  # inside the (0.5, 0.75] bucket
    assert out["worker_live_rooms"] == 100


def test_rooms_stay_live():
    assert not stays_live(b'{"type":"broadcast_end","room_id":"room-1"}')
    assert stays_live(b'{"type":"broadcast_start","room_id":"room-1"}')
