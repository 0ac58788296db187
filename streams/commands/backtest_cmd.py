"""`roompulse backtest RECORDING.jsonl`: replay a broadcast through the ingest path, KPIs and
rules offline, and say what became of every message."""

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
from streams.alerting.backtest import BacktestResult, backtest_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="replay a recording through the rules, print the alerts")
    p.add_argument("recording", type=Path, help=(
        "a .jsonl file: a `roompulse simulate --out` recording, one event JSON per line, or "
        '{"topic","key","value"[,"timestamp"]} lines (detected per line)'))
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
    print(summary(res), file=sys.stderr)
    return 0


def summary(res: BacktestResult) -> str:
    """One `#` line: what was read and what became of it, dead letters by reason."""
    dl = sum(res.dead_letters.values())
    reasons = ", ".join(f"{r} {n}" for r, n in sorted(res.dead_letters.items()))
    parts = [f"{res.messages} messages", f"{res.events} events folded",
             f"{res.duplicates} duplicates skipped",
             f"{dl} dead letters" + (f" ({reasons})" if reasons else "")]
    if res.late:
        parts.append(f"{res.late} late (applied)")
    parts.append(f"{res.evaluations} evaluations")
    if res.skipped_steps:
        parts.append(f"{res.skipped_steps} steps skipped in gaps")
    parts.append(f"{len(res.fired())} alerts fired")
    return "# " + ", ".join(parts)
