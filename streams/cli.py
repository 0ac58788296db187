"""The `roompulse` command: one subcommand per module in `streams.commands`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Each module exposes `register(subparsers)` and sets `func` on its parser.
COMMAND_MODULES = [
    "streams.commands.demo_cmd",
    "streams.commands.stack_cmd",
    "streams.commands.topics_cmd",
    "streams.commands.schemas_cmd",
    "streams.commands.simulate_cmd",
    "streams.commands.replay_cmd",
    "streams.commands.tail_cmd",
    "streams.commands.worker_cmd",
    "streams.commands.bench_cmd",
    "streams.commands.targets_cmd",
    "streams.commands.rules_cmd",
    "streams.commands.backtest_cmd",
    "streams.commands.report_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roompulse",
        description="Real-time KPIs and alerts for live-commerce rooms.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # a command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # aiokafka narrates every subscription and group join at INFO
        logging.getLogger("aiokafka").setLevel(logging.WARNING)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for known, user-facing failures
        from alerts.errors import AlertsError
        from schemas.errors import SchemaError
        from streams.exceptions import StreamsError

        if isinstance(exc, (StreamsError, AlertsError, SchemaError)):
            print(f"roompulse: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
