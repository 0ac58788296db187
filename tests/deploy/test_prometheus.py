"""deploy/prometheus: promtool accepts the config and rules, and the rules' own unit tests pass."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.deploy.files import (
    PROM,
    ROOT,
    TEST_FILES,
    alert_rules,
    load_yaml,
    promtool,
    recorded,
    rules,
)

needs_promtool = pytest.mark.skipif(
    promtool() is None,
    reason="promtool not installed (Debian: apt-get install prometheus; .ci/run installs it)")


def _promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], check=False, cwd=PROM, capture_output=True,
                          text=True, timeout=120)


@needs_promtool
def test_promtool_check_config() -> None:
    r = _promtool("check", "config", "prometheus.yml")
    assert r.returncode == 0, r.stdout + r.stderr


@needs_promtool
def test_promtool_check_rules() -> None:
    r = _promtool("check", "rules", *[f"rules/{p.name}" for p in (PROM / "rules").glob("*.yml")])
    assert r.returncode == 0, r.stdout + r.stderr


@needs_promtool
@pytest.mark.parametrize("test_file", [p.name for p in TEST_FILES])
def test_promtool_test_rules(test_file: str) -> None:
    r = _promtool("test", "rules", f"tests/{test_file}")
    assert r.returncode == 0, r.stdout + r.stderr


def test_config_loads_every_rule_file() -> None:
    listed = set(load_yaml(PROM / "prometheus.yml")["rule_files"])
    assert listed == {f"rules/{p.name}" for p in (PROM / "rules").glob("*.yml")}


def test_config_scrapes_the_worker_web_port() -> None:
    from streams.worker.config import WorkerSettings

    w = WorkerSettings()
    (job,) = [j for j in load_yaml(PROM / "prometheus.yml")["scrape_configs"]
              if j["job_name"] == "roompulse-worker"]
    assert job["metrics_path"] == "/metrics"
    # Targets come from file_sd_configs (deploy/prometheus/targets/*.yml), not a list in the job.
    targets = [t for sd in job["file_sd_configs"] for pattern in sd["files"]
               for path in PROM.glob(pattern) for group in load_yaml(path)
               for t in group["targets"]]
    assert f"{w.web_host}:{w.web_port}" in targets


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    heads = re.findall(r"^#+\s+(.+?)\s*$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in heads}


def test_every_alert_is_labelled_annotated_and_has_a_runbook_section() -> None:
    anchors = _anchors((ROOT / "docs" / "operations.md").read_text(encoding="utf-8"))
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in ("info", "warning", "critical"), name
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), name
        doc, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert doc == "docs/operations.md" and anchor in anchors, (name, anchor)


def _tested() -> tuple[set[str], set[str]]:
    alerts, exprs = set(), []
    for path in TEST_FILES:
        for test in load_yaml(path)["tests"]:
            alerts |= {t["alertname"] for t in test.get("alert_rule_test", [])
                       if t.get("exp_alerts")}
            exprs += [t["expr"] for t in test.get("promql_expr_test", [])]
    return alerts, set(exprs)


def test_every_alert_fires_in_a_promtool_test() -> None:
    fired, _ = _tested()
    assert {r["alert"] for r in alert_rules()} - fired == set()


def test_every_recording_rule_is_checked_in_a_promtool_test() -> None:
    _, exprs = _tested()
    assert recorded() - exprs == set()


def test_rule_names_are_unique() -> None:
    names = [r["alert"] for r in alert_rules()]
    assert len(names) == len(set(names))
    groups = [g["name"] for p in (PROM / "rules").glob("*.yml") for g in load_yaml(p)["groups"]]
    assert len(groups) == len(set(groups))
    assert rules()
