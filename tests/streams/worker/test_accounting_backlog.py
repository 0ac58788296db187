"""Accounting.behind: the backlog the alert ticks yield to (streams/alerting/install.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from streams.ingest.limits import LiveRooms
from streams.worker.accounting import Accounting, quarantine
from streams.worker.engine_metrics import EngineMetrics
from streams.worker.metrics import WorkerMetrics


@dataclass
class Rec:
    offset: int
    key: bytes | None = None
    value: bytes | None = b"x"


def accounting() -> Accounting:
    reg = CollectorRegistry()
    return Accounting(WorkerMetrics(reg), EngineMetrics(reg), LiveRooms(10, 60_000, 10))


def batch(first: int, n: int, partition: int = 0):
    return quarantine([(("t", partition), [Rec(o) for o in range(first, first + n)])],
                      ValueError("test"))


def test_a_partition_far_behind_its_high_watermark_is_behind() -> None:
    acc = accounting()
    acc.batch(batch(0, 100), lambda t, p: 50_100, time.perf_counter(), 0)
    assert acc.backlog == {("t", 0): 50_000}
    assert acc.behind(20_000)


def test_the_backlog_is_summed_over_partitions_and_clears_when_caught_up() -> None:
    acc = accounting()
    acc.batch(batch(0, 100, 0), lambda t, p: 12_100, time.perf_counter(), 0)
    acc.batch(batch(0, 100, 1), lambda t, p: 12_100, time.perf_counter(), 0)
    assert acc.behind(20_000)  # 12,000 + 12,000
    acc.batch(batch(100, 12_000, 0), lambda t, p: 12_100, time.perf_counter(), 0)
    assert not acc.behind(20_000)  # 0 + 12,000


def test_no_high_watermark_known_is_not_behind() -> None:
    acc = accounting()
    acc.batch(batch(0, 100), lambda t, p: None, time.perf_counter(), 0)
    assert not acc.behind(0)
