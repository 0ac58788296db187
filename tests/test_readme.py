"""The README's two opening commands are the ones CI and users actually run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", text)[:2]


def test_readme_opens_with_demo_and_test_commands() -> None:
    demo, tests = _commands()
    assert demo.endswith("roompulse demo")
    assert tests.endswith("pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _commands()[1] in ci_lines
