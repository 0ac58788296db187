"""`roompulse schemas export DIR`: one JSON Schema per event type."""

from __future__ import annotations

import argparse
from pathlib import Path

from schemas.export import export_all


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schemas", help="the event contract")
    ssub = p.add_subparsers(dest="schemas_command", metavar="ACTION", required=True)
    e = ssub.add_parser("export", help="write DIR/<type>.json for every event type")
    e.add_argument("directory", type=Path)
    e.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    paths = export_all(args.directory)
    print(f"wrote {len(paths)} schemas to {args.directory}/")
    return 0
