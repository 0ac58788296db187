"""`roompulse backtest RECORDING.jsonl`: replay a broadcast through the KPIs and rules offline."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from alerts.rules import RulePack
from alerts.targets import Targets
from alerts.yamlfile import ConfigError
from streams.alerting.backtest import backtest_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="replay a recording through the rules, print the alerts")
    p.add_argument("recording", type=Path, help="a .jsonl recording (roompulse simulate --out)")
    p.add_argument("--targets", type=Path, help="targets YAML (default: the shipped defaults)")
    p.add_argument("--rules", type=Path, help="rule YAML (default: the shipped rule pack)")
    p.add_argument("--step", type=float, default=10.0,
                   help="evaluate every STEP stream seconds (default 10, one KPI bucket)")
    p.add_argument("--all", action="store_true", help="also show pending and inactive")
    p.add_argument("--json", action="store_true", help="one JSON object per transition")
    p.set_defaults(func=run)


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M:%S")


def run(args: argparse.Namespace) -> int:
    try:
        targets = Targets.load(args.targets)
        rules = RulePack.load(args.rules)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    try:
        res = asyncio.run(backtest_file(args.recording, rules, targets,
                                        step_ms=int(args.step * 1000)))
    except (OSError, ValueError) as exc:
        print(f"roompulse backtest: {exc}", file=sys.stderr)
        return 1
    shown = [t for t in res.transitions if args.all or t.state in ("firing", "resolved")]
    for t in shown:
        if args.json:
            sys.stdout.buffer.write(orjson.dumps(t.as_dict()) + b"\n")
        else:
            mins = "" if res.first_ms is None else f"+{(t.at - res.first_ms) / 60_000:6.1f}m"
            labels = ",".join(f"{k}={v}" for k, v in t.labels.items())
            value = "-" if t.value is None else f"{t.value:.4g}"
            print(f"{_clock(t.at)} {mins}  {t.state.value:<9} {t.rule:<24} {t.room_id:<10} "
                  f"value={value} {labels}")
    dl = sum(res.dead_letters.values())
    print(f"# {res.events} events, {dl} dead letters, {res.evaluations} evaluations, "
          f"{sum(1 for t in res.transitions if t.state == 'firing')} alerts fired",
          file=sys.stderr)
    return 0
