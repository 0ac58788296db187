"""One fetched batch to one Delta: decode, dedup, late check and fold; pure CPU, no I/O."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from schemas.decode import DeadLetter, DeadLetterReason
from streams.kpi.buckets import is_late
from streams.kpi.fold import BatchFolder, Delta
from streams.worker.deadletter import Rejected
from streams.worker.decoding import decode_batch
from streams.worker.dedup import PartitionMemory

TP = tuple[str, int]


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
    """
    decoded = decode_batch([r.value for _, records in parts for r in records], now_ms)
    rejected: list[Rejected] = []
    offsets: dict[TP, int] = {}
    counts: dict[TP, tuple[int, int, int]] = {}
    types: dict[str, int] = {}
    add = folder.add
    at = 0
    for key, records in parts:
        topic, partition = key
        seen = memory.ids(key).seen
        wm = memory.watermarks.get(key)
        dead = dups = 0
        for rec in records:
            ev = decoded[at]
            at += 1
            if type(ev) is DeadLetter:
                seen("")  # an invalid message still takes its place in the dedup window
                rejected.append(Rejected(topic, partition, rec.offset, rec.key, rec.value, ev))
                dead += 1
                continue
            if seen(ev.event_id):
                dups += 1
                continue
            ts = ev.ts
            if wm is not None and ts < wm - grace_ms:
                why = DeadLetter(DeadLetterReason.late,
                                 f"ts is {(wm - ts) / 1000:.0f}s behind the partition "
                                 f"watermark (grace {grace_ms // 1000}s)")
                rejected.append(Rejected(topic, partition, rec.offset, rec.key, rec.value, why))
                dead += 1
                continue
            if wm is None or ts > wm:
                wm = ts
            add(ev)
            etype = ev.type
            types[etype] = types.get(etype, 0) + 1
        if wm is not None:
            memory.watermarks[key] = wm
        offsets[key] = records[-1].offset + 1
        counts[key] = (len(records), dead, dups)
    return Prepared(folder.take(), rejected, offsets, counts, Counter(types), at)


def rewarm(memory: PartitionMemory, key: TP, records: list, grace_ms: int, now_ms: int) -> None:
    """Replay records already applied (before the Redis offset) into dedup memory and the
    watermark only, exactly as `prepare` would have moved them."""
    seen = memory.ids(key).seen
    wm = memory.watermarks.get(key)
    for ev in decode_batch([r.value for r in records], now_ms):
        if isinstance(ev, DeadLetter):
            seen("")
        elif not seen(ev.event_id) and not is_late(ev.ts, wm, grace_ms):
            wm = ev.ts if wm is None or ev.ts > wm else wm
    if wm is not None:
        memory.watermarks[key] = wm
