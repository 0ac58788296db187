"""Room reads shared by several child processes: each reads the rooms of its own shard.

One alert-read child (evalproc.py) is one interpreter: ~0.4-0.6 ms of CPU a room, and it
waits whenever Redis runs an ingest apply (one script holds the server while it runs). At 1,000
live rooms on two shared cores it got through ~900 rooms a tick while the machine still had
CPU to spare. With `ROOMPULSE_ALERTS_PROCESSES=n`, n children each read the rooms whose id
hashes to their shard (a stable CRC-32, so a room keeps its child and its read caches) in
parallel, within the same budget, and the worker merges what they read.

A tick in which any child fails raises as one child's failure does: the evaluator reads that
tick in the worker (every room), and the dead child is replaced as before.
"""

from __future__ import annotations

import asyncio
import dataclasses

from prometheus_client import CollectorRegistry

from alerts.evalmetrics import TickStats
from alerts.remote import RoomReads
from alerts.rules import RulePack
from alerts.targets import Targets
from streams.alerting.evalproc import ChildSpec, EvalProcess


def merge_reads(parts: list[RoomReads]) -> RoomReads:
    """One RoomReads of disjoint shards: the union, with counts added (seconds: the longest)."""
    out = RoomReads()
    for p in parts:
        out.readings.update(p.readings)
        out.untouched |= p.untouched
        out.failed_rules |= p.failed_rules
    out.stats = TickStats(**{
        f.name: (max if f.name == "seconds" else sum)(getattr(p.stats, f.name) for p in parts)
        for f in dataclasses.fields(TickStats)})
    return out


class ShardedReads:
    """n EvalProcess children, one per shard (alerts.remote.RemoteReads)."""

    def __init__(self, spec: ChildSpec, processes: int,
                 registry: CollectorRegistry | None = None) -> None:
        self.children = [EvalProcess(dataclasses.replace(spec, shard=(i, processes)),
                                     registry=registry if i == 0 else None)
                         for i in range(processes)]
        # one restart counter for all of them (a registry takes each name once)
        counter = self.children[0].restarts
        for child in self.children[1:]:
            child.restarts = counter

    @property
    def pid(self) -> int | None:
        return self.children[0].pid

    @property
    def pids(self) -> list[int | None]:
        return [c.pid for c in self.children]

    async def read(self, rules: RulePack, targets: Targets, now_ms: int,
                   budget_s: float | None) -> RoomReads:
        got = await asyncio.gather(*(c.read(rules, targets, now_ms, budget_s)
                                     for c in self.children), return_exceptions=True)
        for g in got:
            if isinstance(g, BaseException):
                raise g
        return merge_reads([g for g in got if isinstance(g, RoomReads)])

    def close(self) -> None:
        for child in self.children:
            child.close()
