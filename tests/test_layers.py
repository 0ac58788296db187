"""The layers keep themselves: every import of ours, read with ast, goes the right way."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "streams", "alerts")
# The KPI pipeline's core may not reach up into the application, the dev tools or alerts.
KPI_FORBIDDEN = ("streams.worker", "streams.console", "streams.commands", "streams.stack",
                 "streams.bench", "streams.simulator", "streams.alerting", "streams.history",
                 "streams.report", "streams.ingest", "streams.cli", "alerts")
INGEST_FORBIDDEN = tuple(p for p in KPI_FORBIDDEN if p != "streams.ingest") + (
    "streams.worker.engine", "streams.worker.app")
DEV_TOOLS = ("streams.bench", "streams.simulator", "streams.stack", "streams.stack_cluster",
             "streams.demo_view")
# Who may import the dev tools: the commands, and the dev tools themselves.
DEV_TOOL_USERS = ("streams.commands", *DEV_TOOLS)


def modules() -> list[tuple[str, Path]]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out.append((name.removesuffix(".__init__"), path))
    return out


def imports(path: Path) -> list[str]:
    """Absolute module names imported anywhere in the file (lazy imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return [m for m in found if m.split(".")[0] in PACKAGES]


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations() -> list[str]:
    bad = []
    for name, path in modules():
        for target in imports(path):
            if within(name, ("schemas",)) and not within(target, ("schemas",)):
                bad.append(f"{name} -> {target}: schemas imports nothing of ours")
            if within(name, ("alerts",)) and within(target, ("streams",)):
                bad.append(f"{name} -> {target}: alerts never imports streams")
            if within(name, ("streams.kpi",)) and within(target, KPI_FORBIDDEN):
                bad.append(f"{name} -> {target}: streams.kpi is the pipeline's core")
            if within(name, ("streams.ingest",)) and within(target, INGEST_FORBIDDEN):
                bad.append(f"{name} -> {target}: streams.ingest is pure")
            if within(target, DEV_TOOLS) and not within(name, DEV_TOOL_USERS):
                bad.append(f"{name} -> {target}: dev tools are for commands and tests only")
    return bad


def test_every_import_goes_the_right_way() -> None:
    assert violations() == []


def test_the_checker_sees_a_wrong_import(tmp_path, monkeypatch) -> None:
    """The rule can fail: a schemas module importing streams is reported."""
    fake = tmp_path / "schemas"
    fake.mkdir()
    (fake / "bad.py").write_text("from streams.kpi.fold import BatchFolder\n")
    (tmp_path / "streams").mkdir()
    (tmp_path / "alerts").mkdir()
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert violations() == ["schemas.bad -> streams.kpi.fold: schemas imports nothing of ours"]
