"""Summarise a py-spy raw profile of the KPI engine by stage: where the worker's time goes.

    py-spy record -r 250 --gil -f raw -o prof.txt -- \
        python -m streams.bench.inproc --events 1000000
    python -m streams.bench.spy prof.txt
    py-spy record --pid <worker pid> ... ; python -m streams.bench.spy --all prof.txt

Only stacks inside the engine (`KpiEngine.run` or the prepare thread) count, so the production
phase of `streams.bench.inproc` is left out; `--all` counts every stack (a worker process).
A stack belongs to the first STAGES entry whose marker appears in it (checked from the leaf
up): the innermost named stage wins. py-spy shows no C frames: pydantic's `validate_python`
appears as the line of `decode_batch` that calls it.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

ENGINE = ("streams/worker/engine.py:", "streams/ingest/prepare.py", "kpi-prepare")
# (stage, marker in a frame). The first marker met walking from the leaf wins.
STAGES = (
    ("decode: pydantic validation", "validate_python"),
    ("decode: fast path (msgspec, id checks)", "streams/ingest/fastdecode.py:"),
    ("decode: orjson + checks", "streams/ingest/decoding.py:"),
    ("dedup", "streams/ingest/dedup.py:"),
    ("room limits", "streams/ingest/limits.py:"),
    ("time policy / watermarks", "streams/ingest/timepolicy.py:"),
    ("fold", "streams/kpi/fold.py:"),
    ("build_ops (Redis payload)", "streams/kpi/ops.py:"),
    ("prepare: rest (decide, bookkeeping)", "streams/ingest/prepare.py:"),
    ("Redis apply (redis-py, Lua call)", "redis/"),
    ("Kafka fetch (aiokafka, records, gzip)", "aiokafka/"),
    ("Kafka fetch (aiokafka, records, gzip)", "streams/worker/records.py:"),
    ("Kafka fetch (aiokafka, records, gzip)", "streams/worker/gzipdecode.py:"),
    ("metrics / accounting", "prometheus_client"),
    ("metrics / accounting", "streams/worker/engine_metrics.py:"),
    ("metrics / accounting", "streams/worker/accounting.py:"),
    ("dead letters", "streams/worker/deadletter.py:"),
    ("alert evaluation", "alerts/"),
    ("Faust / mode (control agent, timers)", "faust/"),
    ("Faust / mode (control agent, timers)", "mode/"),
    ("HTTP (aiohttp)", "aiohttp/"),
    ("asyncio / engine loop", "asyncio/"),
)
_LINE = re.compile(r"^(?P<stack>.*) (?P<n>\d+)$")


def stage_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for stage, marker in STAGES:
            if marker in frame:
                return stage
    return "other"


def summarise(raw: str, everything: bool = False) -> tuple[Counter, Counter, int]:
    """(samples by stage, samples by leaf function, samples counted) of a py-spy raw profile:
    the engine's stacks only, or with `everything` every stack of the process."""
    stages: Counter = Counter()
    leaves: Counter = Counter()
    total = 0
    for line in raw.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        frames = m["stack"].split(";")
        if not everything and not any(mark in f for f in frames for mark in ENGINE):
            continue
        n = int(m["n"])
        total += n
        stages[stage_of(frames)] += n
        leaves[frames[-1]] += n
    return stages, leaves, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profile", help="py-spy record -f raw output")
    ap.add_argument("--top", type=int, default=15, help="leaf functions to list")
    ap.add_argument("--all", action="store_true",
                    help="count every stack (a whole worker process), not the engine's only")
    args = ap.parse_args()
    with open(args.profile, encoding="utf-8", errors="replace") as f:
        stages, leaves, total = summarise(f.read(), everything=args.all)
    if not total:
        print("no samples")
        return
    print(f"{total} samples")
    for stage, n in stages.most_common():
        print(f"{n / total:6.1%}  {stage}")
    print(f"\ntop {args.top} leaf functions (self time):")
    for leaf, n in leaves.most_common(args.top):
        print(f"{n / total:6.1%}  {leaf}")


if __name__ == "__main__":
    main()
