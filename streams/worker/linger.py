"""Small fetches wait a little for more: one Redis apply per batch has a fixed cost per room.

At a few thousand events a second getmany() returns what arrived since the last call, ~300
messages over hundreds of rooms. The apply script's work is mostly per room and key touched
(state, bucket hashes, distinct-count keys, their TTLs), not per event, so a batch of 300 cost
Redis ~30 µs of CPU per event and one of 3,000 ~16 µs (1,000 rooms: docs/benchmarks.md), and
each apply holds the single-threaded server for its whole run, which
the alert reads wait behind. A fetch smaller than `min_records` therefore asks again until the
batch holds that many or `linger_ms` has passed (Kafka's own fetch.min.bytes / linger.ms
trade). Under load a fetch is already large and nothing waits.

Only records that continue a partition's list are merged: a fetch that starts at or before the
batch's last offset for a partition (a seek back, a rebalance) is handed on as its own batch,
so the engine's sequence checks see exactly what they would have seen without lingering.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

Batch = dict[Any, list]  # TopicPartition -> records (each with `.offset`), as getmany returns


def count(batch: Batch) -> int:
    return sum(len(records) for records in batch.values())


def merge(batch: Batch, more: Batch) -> bool:
    """Append `more` to `batch` in place when every partition continues past its last offset;
    False (and `batch` unchanged) when any would not."""
    for tp, records in more.items():
        mine = batch.get(tp)
        if records and mine and records[0].offset <= mine[-1].offset:
            return False
    for tp, records in more.items():
        if records:
            # a new list: getmany's lists may be the client's own buffers
            batch[tp] = [*batch.get(tp, ()), *records]
    return True


async def fill(batch: Batch, fetch: Callable[[int, int], Awaitable[Batch]], *,
               min_records: int, max_records: int, linger_ms: int,
               stopping: Callable[[], bool] = lambda: False) -> list[Batch]:
    """`batch`, grown by further fetches (`fetch(timeout_ms, max_records)`) until it holds
    `min_records` (at most `max_records`) or `linger_ms` passed; a fetch that does not
    continue it comes back after it, as a batch of its own (then no more lingering)."""
    n = count(batch)
    target = min(min_records, max_records)  # a batch never outgrows max_records
    if linger_ms <= 0 or n >= target:
        return [batch]
    deadline = time.monotonic() + linger_ms / 1000
    while n < target and not stopping():
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            break
        more = await fetch(left_ms, max_records - n)
        if not more:
            continue
        if not merge(batch, more):
            return [batch, more]
        n = count(batch)
    return [batch]
