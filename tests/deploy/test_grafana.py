"""deploy/grafana: provisioning, and dashboards that are current, well formed and valid PromQL."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.files import (
    DEPLOY,
    GRAFANA,
    dashboard_exprs,
    dashboards,
    load_yaml,
    panels,
    promtool,
    substitute,
)

PROVISIONING = GRAFANA / "provisioning"
BUILTIN_VARS = {"__rate_interval", "__interval", "__range", "__value", "__url_time_range"}


def _datasource_uid() -> str:
    (ds,) = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    assert ds["type"] == "prometheus"
    return ds["uid"]


def test_dashboards_are_what_build_py_writes() -> None:
    r = subprocess.run([sys.executable, str(GRAFANA / "build.py"), "--check"], check=False,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_the_four_dashboards_and_the_room_variable() -> None:
    dash = {d["uid"]: d for d in dashboards().values()}
    assert set(dash) == {"roompulse-rooms", "roompulse-room", "roompulse-products",
                         "roompulse-pipeline"}
    room_vars = {v["name"]: v for v in dash["roompulse-room"]["templating"]["list"]}
    assert not room_vars["room"]["multi"]
    assert "window" in room_vars


def test_provider_loads_the_dashboard_folder() -> None:
    (prov,) = load_yaml(PROVISIONING / "dashboards" / "roompulse.yml")["providers"]
    assert prov["type"] == "file"
    var = re.fullmatch(r"\$\{(\w+)\}", prov["options"]["path"]).group(1)
    assert var in (DEPLOY / "README.md").read_text(encoding="utf-8")


def _vars_used(obj) -> set[str]:
    text = yaml.safe_dump(obj)
    return {m.group(1) or m.group(2) for m in re.finditer(r"\$\{(\w+)[^}]*\}|\$(\w+)", text)}


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_dashboard_is_well_formed(name: str) -> None:
    dash = dashboards()[name]
    uid = _datasource_uid()
    defined = {v["name"] for v in dash["templating"]["list"]}
    assert _vars_used(dash["panels"]) - defined - BUILTIN_VARS == set()
    assert "roompulse" in dash["tags"] and dash["title"].startswith("roompulse / ")
    ids, cells = set(), set()
    for p in panels(dash):
        assert p["id"] not in ids, p["title"]
        ids.add(p["id"])
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{p['title']} overlaps another panel"
        cells |= mine
        refs = [t["refId"] for t in p.get("targets", [])]
        assert len(refs) == len(set(refs)), p["title"]
        for t in p.get("targets", []):
            assert t["datasource"]["uid"] == uid and t["expr"].strip(), p["title"]
        if p["type"] not in ("row", "text"):
            assert p["datasource"]["uid"] == uid and p.get("targets"), p["title"]
    for v in dash["templating"]["list"]:
        assert v["datasource"]["uid"] == uid


def test_dashboard_links_point_at_existing_dashboards() -> None:
    uids = {d["uid"] for d in dashboards().values()}
    links = re.findall(r'"url": "/d/([\w-]+)', "".join(
        p.read_text(encoding="utf-8") for p in (GRAFANA / "dashboards").glob("*.json")))
    assert links and set(links) <= uids


@pytest.mark.skipif(promtool() is None,
                    reason="promtool not installed (Debian: apt-get install prometheus)")
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query (Grafana variables filled in) as a recording rule."""
    exprs = dashboard_exprs()
    rules = [{"record": f"dashboard_query_{i}", "expr": substitute(e)}
             for i, (_, e) in enumerate(exprs)]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    r = subprocess.run([promtool(), "check", "rules", str(path)], check=False,
                       capture_output=True, text=True, timeout=120)
    bad = sorted({int(n) for n in re.findall(r"dashboard_query_(\d+)", r.stdout + r.stderr)})
    assert r.returncode == 0, (r.stdout + r.stderr, [exprs[i] for i in bad])
