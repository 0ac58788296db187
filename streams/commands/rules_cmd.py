"""`roompulse rules test FILE...` (like promtool test rules) and `roompulse rules check FILE`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from alerts.rules import DEFAULT_RULES, RulePack
from alerts.ruletest import DEFAULT_TESTS, run_file
from alerts.yamlfile import ConfigError
from streams.alerting.backtest import recording_runner


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="alert rule files: check them, run their tests")
    rsub = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    check = rsub.add_parser("check", help="validate a rule file")
    check.add_argument("file", nargs="?", default=str(DEFAULT_RULES))
    check.set_defaults(func=run_check)
    test = rsub.add_parser("test", help="run rule tests (KPI series in, expected alerts out)")
    test.add_argument("files", nargs="*", type=Path,
                      help="test YAML files (default: the tests of the shipped rule pack)")
    test.set_defaults(func=run_test)


def run_check(args: argparse.Namespace) -> int:
    try:
        pack = RulePack.load(args.file)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    print(f"{args.file}: OK ({len(pack.rules)} rules: {', '.join(r.id for r in pack.rules)})")
    return 0


def run_test(args: argparse.Namespace) -> int:
    files = args.files or sorted(DEFAULT_TESTS.glob("*.yaml"))
    failed = 0
    for path in files:
        try:
            cases, failures = asyncio.run(run_file(path, recording_runner))
        except ConfigError as exc:
            print("\n".join(exc.problems), file=sys.stderr)
            failed += 1
            continue
        status = "FAILED" if failures else "SUCCESS"
        print(f"{path}: {status} ({cases} cases)")
        for f in failures:
            print(f"  {f}")
        failed += bool(failures)
    return 1 if failed else 0
