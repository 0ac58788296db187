"""Every metric the dashboards and rules query is really exported by roompulse or recorded."""

from __future__ import annotations

import pytest

from alerts.model import AlertState, Severity
from schemas.decode import DeadLetterReason
from schemas.kpis import ProductKpi, RoomKpi
from tests.deploy.exported import PROMETHEUS_SERIES, TARGET_LABELS, exposed, worker_families
from tests.deploy.files import (
    dashboard_exprs,
    dashboards,
    input_series,
    promtool_test_exprs,
    recorded,
    rule_exprs,
    variable_label,
    variable_selector,
)
from tests.deploy.promql import listed_values, selectors

EXPOSED = exposed()
RECORDED = recorded()
# Label values the code enumerates: a matcher naming any other value is a typo.
KNOWN_VALUES = {
    ("roompulse_room_kpi", "kpi"): {k.value for k in RoomKpi},
    ("roompulse_product_kpi", "kpi"): {k.value for k in ProductKpi},
    ("roompulse_worker_dead_letters_total", "reason"): {r.value for r in DeadLetterReason},
    ("roompulse_alerts", "state"): {s.value for s in AlertState},
    ("roompulse_alerts", "severity"): {s.value for s in Severity},
}
QUERIES = dashboard_exprs() + rule_exprs() + promtool_test_exprs()


def test_the_real_code_exports_the_metrics_the_assets_are_built_on() -> None:
    fams = worker_families()
    assert fams["roompulse_room_kpi"].labels == {"room", "window", "kpi"}
    assert fams["roompulse_worker_redis_apply_seconds"].type == "histogram"
    assert "roompulse_worker_events_total" in EXPOSED
    assert "roompulse_worker_redis_apply_seconds_bucket" in EXPOSED
    assert all(name.startswith("roompulse_") for name in fams)


def _problems(where: str, expr: str, *, allow_recorded: bool = True) -> list[str]:
    out = []
    for sel in selectors(expr):
        name = sel.metric
        if name is None:
            out.append(f"{where}: selector without a metric name in {expr!r}")
            continue
        if name in EXPOSED:
            labels = EXPOSED[name] | TARGET_LABELS
        elif name in PROMETHEUS_SERIES:
            labels = PROMETHEUS_SERIES[name]
        elif allow_recorded and name in RECORDED:
            continue
        else:
            out.append(f"{where}: {name} is neither exported by roompulse nor recorded")
            continue
        for label, op, value in sel.matchers:
            if labels is not None and label not in labels | {"__name__"}:
                out.append(f"{where}: {name} has no label {label!r} (has {sorted(labels)})")
            known = KNOWN_VALUES.get((name, label))
            values = listed_values(op, value)
            if known and values:
                unknown = [v for v in values if v not in known and "$" not in v]
                if unknown:
                    out.append(f"{where}: {name}{{{label}}} has no value {unknown}")
    return out


@pytest.mark.parametrize(("where", "expr"), QUERIES, ids=[w for w, _ in QUERIES])
def test_query_names_only_exported_or_recorded_metrics(where: str, expr: str) -> None:
    assert _problems(where, expr) == []


def test_promtool_inputs_are_real_exported_series() -> None:
    problems = [p for where, series in input_series()
                for p in _problems(where, series, allow_recorded=False)]
    assert problems == []


def test_variable_queries_read_existing_labels() -> None:
    for name, dash in dashboards().items():
        for v in dash["templating"]["list"]:
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            (sel,) = selectors(variable_selector(q))
            assert variable_label(q) in EXPOSED[sel.metric], (name, v["name"])


@pytest.mark.parametrize("bad", [
    "roompulse_worker_event_total",                              # typo in the name
    'roompulse_room_kpi{kpi="gvm"}',                             # no such KPI
    'roompulse_room_kpi{rooom="r1"}',                            # no such label
    'sum by (reason) (rate(roompulse_worker_dead_letters_total{reason="bad"}[5m]))',
    "job:roompulse_not_recorded:rate5m",
])
def test_the_check_catches_wrong_queries(bad: str) -> None:
    assert _problems("probe", bad)
