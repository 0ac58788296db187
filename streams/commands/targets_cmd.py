"""`roompulse targets check FILE`: validate a targets file offline."""

from __future__ import annotations

import argparse
import sys

from alerts.targets import DEFAULT_TARGETS, Targets
from alerts.yamlfile import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("targets", help="KPI targets files")
    tsub = p.add_subparsers(dest="targets_command", metavar="ACTION", required=True)
    check = tsub.add_parser("check", help="validate a targets file (errors name file:line: field)")
    check.add_argument("file", nargs="?", default=str(DEFAULT_TARGETS),
                       help="targets YAML (default: the shipped defaults)")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    try:
        t = Targets.load(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    f = t.file
    n = sum(len(v) for v in f.stages.values())
    rooms = sum(len(b.rooms) for b in f.brands.values())
    print(f"{args.file}: OK ({n} default targets, {len(f.brands)} brands, {rooms} room entries)")
    return 0
