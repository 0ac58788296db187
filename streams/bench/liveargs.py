"""The flags of `roompulse bench --live-rooms N` (streams.bench.liverooms), kept apart so that
registering the command imports nothing heavy."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--live-rooms", type=int, default=0, metavar="N",
                   help="measure alert evaluation and the API with N live rooms instead")
    p.add_argument("--duration", type=float, default=60.0,
                   help="--live-rooms: seconds measured once every room is live")
    p.add_argument("--live-rate", type=float, default=10_000,
                   help="--live-rooms: offered events/s across all rooms")
    p.add_argument("--worker-log", default=None,
                   help="--live-rooms: file for the worker's output (default: a temp file)")
