"""observe_all: many histogram observations at once, the same exposition as one by one."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from streams.worker.engine_metrics import LATENESS_BUCKETS, observe_all


def _exposition(registry: CollectorRegistry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines()
            if not line.startswith("#") and "_created" not in line]


def test_observe_all_equals_observing_one_by_one() -> None:
    rng = random.Random(7)
    one, many = CollectorRegistry(), CollectorRegistry()
    h1 = Histogram("lateness_seconds", "x", buckets=LATENESS_BUCKETS, registry=one)
    h2 = Histogram("lateness_seconds", "x", buckets=LATENESS_BUCKETS, registry=many)
    for _ in range(5):  # several batches: the sum keeps adding in the same order
        # exact bounds (an amount equal to a bound is counted in that bucket), between bounds,
        # zero and above the last bound
        batch = [rng.choice([*LATENESS_BUCKETS, 0.0, 99_999.0]) if rng.random() < 0.3
                 else rng.uniform(0, 60_000) for _ in range(1_000)]
        for a in batch:
            h1.observe(a)
        observe_all(h2, batch)
    assert _exposition(one) == _exposition(many)


def test_observe_all_of_nothing_changes_nothing() -> None:
    reg = CollectorRegistry()
    h = Histogram("h_seconds", "x", buckets=(1, 2), registry=reg)
    before = _exposition(reg)
    observe_all(h, [])
    assert _exposition(reg) == before
