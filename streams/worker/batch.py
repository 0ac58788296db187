"""One fetched batch to one Delta: decode, dedup, late check and fold; pure CPU, no I/O."""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter, sub

from schemas.decode import DeadLetter, DeadLetterReason
from streams.kpi.buckets import is_late
from streams.kpi.fold import BatchFolder, Delta
from streams.worker.deadletter import Rejected
from streams.worker.decoding import decode_batch
from streams.worker.dedup import PartitionMemory

TP = tuple[str, int]
_event_id, _ts, _type = itemgetter("event_id"), itemgetter("ts"), itemgetter("type")
# Every batch allocates ~100k short-lived objects (events, dicts, tuples). With CPython's default
# gen-0 threshold (700) they are scanned and promoted over and over, and a full collection walks
# the whole heap: that alone doubled the cost per event. Objects alive at start-up are frozen
# out of collection, and the young generation may grow to one batch's worth before a scan.
GC_THRESHOLDS = (100_000, 50, 100)


def tune_gc() -> None:
    """Make garbage collection cheap for a batch-at-a-time process (idempotent)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@dataclass
class Prepared:
    """A batch ready to apply: its Delta, dead letters, next offsets and per-partition counts."""

    delta: Delta
    rejected: list[Rejected]
    offsets: dict[TP, int]
    counts: dict[TP, tuple[int, int, int]]  # consumed, dead-lettered, duplicates
    types: Counter = field(default_factory=Counter)
    size: int = 0


def prepare(parts: list[tuple[TP, list]], memory: PartitionMemory, folder: BatchFolder,
            grace_ms: int, now_ms: int) -> Prepared:
    """Fold the records of `parts` ([((topic, partition), records)], each in offset order).

    Every message is either folded, skipped as a duplicate, or dead-lettered with a reason; the
    dedup memory and watermarks in `memory` move forward as an uninterrupted worker's would.
    The per-message work runs in C (map, accumulate, min) wherever the batch allows: a message
    is looked at one by one in Python only in BatchFolder.add_all, or when it is odd (invalid,
    a duplicate or late).
    """
    decoded = decode_batch([r.value for _, records in parts for r in records], now_ms)
    rejected: list[Rejected] = []
    offsets: dict[TP, int] = {}
    counts: dict[TP, tuple[int, int, int]] = {}
    types: Counter = Counter()
    at = 0
    for key, records in parts:
        topic, partition = key
        n = len(records)
        evs = decoded[at:at + n]
        at += n
        bad = {i for i, ev in enumerate(evs) if type(ev) is DeadLetter} \
            if DeadLetter in set(map(type, evs)) else set()
        ids = memory.ids(key).mark(
            [None if i in bad else ev["event_id"] for i, ev in enumerate(evs)] if bad
            else list(map(_event_id, evs)))
        skip = bad | ids
        if skip:
            keep = [i for i in range(n) if i not in skip]
            good = [evs[i] for i in keep]
        else:
            keep, good = None, evs
        wm = memory.watermarks.get(key)
        late = _late(good, wm, grace_ms)
        if late:
            for j in late:
                i = j if keep is None else keep[j]
                ev = evs[i]
                evs[i] = DeadLetter(DeadLetterReason.late,
                                    f"ts is {(_running_max(good, wm, j) - ev['ts']) / 1000:.0f}s "
                                    f"behind the partition watermark (grace "
                                    f"{grace_ms // 1000}s)")
                bad.add(i)
            good = [ev for j, ev in enumerate(good) if j not in late]
        if good:
            top = max(map(_ts, good))
            memory.watermarks[key] = top if wm is None or top > wm else wm
        folder.add_all(good)
        types.update(map(_type, good))
        for i in sorted(bad):
            rec = records[i]
            rejected.append(Rejected(topic, partition, rec.offset, rec.key, rec.value, evs[i]))
        offsets[key] = records[-1].offset + 1
        counts[key] = (n, len(bad), len(ids))
    return Prepared(folder.take(), rejected, offsets, counts, types, at)


def _late(events: list, wm: int | None, grace_ms: int) -> set[int]:
    """Indices of events older than the watermark before them minus the grace.

    A late event is below the watermark, so letting it into the running maximum changes
    nothing: the watermark before event j is max(wm, ts of events 0..j-1).
    """
    if not events:
        return set()
    tss = list(map(_ts, events))
    before = list(accumulate(tss, max, initial=wm if wm is not None else tss[0]))
    if min(map(sub, tss, before)) >= -grace_ms:
        return set()  # the common case: nothing late
    return {j for j, (t, w) in enumerate(zip(tss, before)) if t < w - grace_ms}


def _running_max(events: list, wm: int | None, j: int) -> int:
    tss = [ev["ts"] for ev in events[:j]]
    return max(tss + ([wm] if wm is not None else []))


def rewarm(memory: PartitionMemory, key: TP, records: list, grace_ms: int, now_ms: int) -> None:
    """Replay records already applied (before the Redis offset) into dedup memory and the
    watermark only, exactly as `prepare` would have moved them."""
    seen = memory.ids(key).seen
    wm = memory.watermarks.get(key)
    for ev in decode_batch([r.value for r in records], now_ms):
        if isinstance(ev, DeadLetter):
            memory.ids(key).skip()
        elif not seen(ev["event_id"]) and not is_late(ev["ts"], wm, grace_ms):
            wm = ev["ts"] if wm is None or ev["ts"] > wm else wm
    if wm is not None:
        memory.watermarks[key] = wm
