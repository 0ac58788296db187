"""`roompulse report`: the review report (复盘) of one broadcast, from a recording or history."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from alerts.rules import RulePack
from alerts.targets import Targets
from alerts.yamlfile import ConfigError
from streams.history.db import HistoryError
from streams.history.lookup import (
    data_from_history,
    open_store,
    save_data,
    weekly_from_history,
)
from streams.report.make import (
    FORMATS,
    ReportError,
    data_from_recording,
    render,
    report_from_data,
)
from streams.report.texts import LANGS
from streams.report.weekly import build_weekly


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="the review report (复盘) of one broadcast")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-recording", type=Path, metavar="FILE",
                     help="a .jsonl recording (roompulse simulate --out); needs --room")
    src.add_argument("--broadcast", metavar="ID", help="a broadcast id from history")
    src.add_argument("--date", metavar="YYYY-MM-DD",
                     help="the room's broadcast that started that day (history; needs --room)")
    src.add_argument("--week", metavar="YYYY-MM-DD",
                     help="the weekly review of the ISO week holding that day (history; needs "
                     "--room or --brand)")
    p.add_argument("--room", help="room id")
    p.add_argument("--brand", help="brand id (--week)")
    p.add_argument("--format", choices=FORMATS, default="html")
    p.add_argument("--out", type=Path, help="write here (default: standard output)")
    p.add_argument("--lang", choices=LANGS, default="zh-CN")
    p.add_argument("--targets", type=Path, help="targets YAML (default: the shipped defaults)")
    p.add_argument("--rules", type=Path, help="rule YAML for a recording's alert timeline")
    p.add_argument("--gmv-target", type=float, help="GMV target (default: a `gmv` target in the "
                   "targets file, if any)")
    p.add_argument("--no-alerts", action="store_true",
                   help="a recording: skip replaying it through the rules")
    p.add_argument("--save", action="store_true",
                   help="a recording: also write the broadcast into history")
    p.set_defaults(func=run)


def _weekly(args: argparse.Namespace, targets: Targets) -> dict:
    found, first, last = weekly_from_history(args.week, room=args.room, brand=args.brand)
    reports = [report_from_data(d, targets, args.lang) for d in found]
    scope = {"room": args.room} if args.room else {"brand": args.brand}
    return build_weekly(reports, first, last, scope, args.lang)


def _data(args: argparse.Namespace, targets: Targets) -> dict:
    if args.from_recording is not None:
        if not args.room:
            raise ReportError("--from-recording needs --room")
        rules = RulePack.load(args.rules) if not args.no_alerts else None
        data = asyncio.run(data_from_recording(args.from_recording, args.room, rules=rules,
                                               targets=targets, alerts=not args.no_alerts))
        if args.save:
            _save(data)
        return data
    return data_from_history(broadcast=args.broadcast, room=args.room, date=args.date)


def _save(data: dict) -> None:
    store = open_store()
    try:
        bid = save_data(store, data)
    except HistoryError as exc:
        raise ReportError(str(exc)) from None
    finally:
        store.close()
    print(f"roompulse report: saved {bid} to history ({store.db.where})", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    try:
        targets = Targets.load(args.targets)
        if args.week is not None:
            report = _weekly(args, targets)
        else:
            report = report_from_data(_data(args, targets), targets, args.lang, args.gmv_target)
        body = render(report, args.format)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    except ReportError as exc:
        print(f"roompulse report: {exc}", file=sys.stderr)
        return 1
    if args.out is None:
        sys.stdout.buffer.write(body)
    else:
        try:
            args.out.write_bytes(body)
        except OSError as exc:
            print(f"roompulse report: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"roompulse report: wrote {args.out}", file=sys.stderr)
    return 0
