"""The deploy/ assets as data: rule files, recorded names and every PromQL expression they hold."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROM = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
RULE_FILES = sorted((PROM / "rules").glob("*.yml"))
TEST_FILES = sorted((PROM / "tests").glob("*.yml"))
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
_LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<sel>.*),\s*)?(?P<label>\w+)\s*\)\s*$",
                           re.DOTALL)


def promtool() -> str | None:
    return shutil.which("promtool")


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> list[tuple[str, dict]]:
    """(file name, rule) for every recording and alerting rule."""
    return [(path.name, rule) for path in RULE_FILES
            for group in load_yaml(path)["groups"] for rule in group["rules"]]


def recorded() -> set[str]:
    return {r["record"] for _, r in rules() if "record" in r}


def alert_rules() -> list[dict]:
    return [r for _, r in rules() if "alert" in r]


def dashboards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in DASHBOARD_FILES}


def panels(dash: dict) -> list[dict]:
    out = []
    for p in dash["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))  # collapsed rows hold their panels
    return out


def dashboard_exprs() -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every variable query of every dashboard."""
    out = []
    for name, dash in dashboards().items():
        for p in panels(dash):
            for t in p.get("targets", []):
                out.append((f"{name}: {p['title']} [{t['refId']}]", t["expr"]))
        for v in dash["templating"]["list"]:
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            sel = variable_selector(q)
            if sel:
                out.append((f"{name}: variable {v['name']}", sel))
    return out


def variable_selector(query: str) -> str | None:
    """The PromQL inside a Grafana variable query (`label_values(sel, label)` -> sel)."""
    m = _LABEL_VALUES.match(query)
    if m:
        return m.group("sel")
    m = re.match(r"^\s*query_result\((.*)\)\s*$", query, re.DOTALL)
    return m.group(1) if m else None


def variable_label(query: str) -> str | None:
    m = _LABEL_VALUES.match(query)
    return m.group("label") if m else None


def rule_exprs() -> list[tuple[str, str]]:
    return [(f"{f}: {r.get('record') or r.get('alert')}", r["expr"]) for f, r in rules()]


def promtool_test_exprs() -> list[tuple[str, str]]:
    """(where, PromQL) of the promtool tests' promql_expr_test entries."""
    out = []
    for path in TEST_FILES:
        for i, test in enumerate(load_yaml(path)["tests"]):
            for e in test.get("promql_expr_test", []):
                out.append((f"{path.name} test {i}", e["expr"]))
    return out


def input_series() -> list[tuple[str, str]]:
    """(where, series selector) of every promtool test input series."""
    return [(f"{path.name} test {i}", s["series"]) for path in TEST_FILES
            for i, test in enumerate(load_yaml(path)["tests"])
            for s in test.get("input_series", [])]


def substitute(expr: str, **given: str) -> str:
    """A dashboard expression with Grafana's variables replaced by plausible (or given) values."""
    values = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h",
              "window": "5m", "room": "r1", "product": "p1", **given}
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)",
                  lambda m: values[m.group(1) or m.group(2)], expr)
