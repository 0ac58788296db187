"""The deploy tests' PromQL reader finds exactly the metrics an expression selects."""

from __future__ import annotations

import pytest

from tests.deploy.promql import listed_values, metric_names, selectors


@pytest.mark.parametrize(("expr", "names"), [
    ("up", {"up"}),
    ('sum by (job, type) (rate(a_total{type="x"}[5m]))', {"a_total"}),
    ("sum(rate(a_total[1m])) by (job) / on (job) group_left(type) b", {"a_total", "b"}),
    ("histogram_quantile(0.99, sum by (le) (rate(h_bucket[$__rate_interval])))", {"h_bucket"}),
    ('max by (room) (k{room=~"$room", window="${window}"}) offset 5m > bool 0.5', {"k"}),
    ("topk(10, x) or vector(0) unless ignoring (instance) y", {"x", "y"}),
    ('a and on (job, instance) count without (le) (b) > 1e3', {"a", "b"}),
    ('{__name__="n", job="j"} * -1', {"n"}),
    ("rec:name:rate5m{quantile=\"0.99\"} > inf", {"rec:name:rate5m"}),
    ('label_replace(x, "dst", "$1", "src", "(.*)")', {"x"}),
    ("deriv(x[10m:1m]) # a comment naming fake_metric", {"x"}),
    ("count(ALERTS{alertstate=\"firing\", alertname=~\"Roompulse.*\"})", {"ALERTS"}),
])
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_matchers_are_read_with_their_operators() -> None:
    (sel,) = selectors(r'm{a="x\"y", b!="", c=~"p|q", d!~".+"}')
    assert sel.metric == "m"
    assert sel.matchers == [("a", "=", 'x"y'), ("b", "!=", ""), ("c", "=~", "p|q"),
                            ("d", "!~", ".+")]


@pytest.mark.parametrize("bad", ['m{a="x"', "m{a=b}", "m ; n"])
def test_unreadable_expressions_raise(bad: str) -> None:
    with pytest.raises(ValueError):
        selectors(bad)


def test_listed_values() -> None:
    assert listed_values("=", "gmv") == ["gmv"]
    assert listed_values("=~", "ctr|cart_rate") == ["ctr", "cart_rate"]
    assert listed_values("=~", "Roompulse.*") is None
