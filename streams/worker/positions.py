"""Where each owned partition stands: the next offset to take, where Redis says the next batch
starts, and the re-read window that rebuilds dedup memory after an assignment."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
ANY_START = -1  # a partition new to Redis may start at any offset (the log start may be > 0)
TP = tuple[str, int]


class Positions:
    """Per-partition positions of one KPI loop member; pure bookkeeping, no I/O."""

    def __init__(self) -> None:
        # Next offset each owned partition must deliver; anything else is stale or a gap.
        self.expected: dict[TP, int] = {}
        # Where the next batch of each partition starts as far as Redis is concerned.
        self.chain: dict[TP, int] = {}
        # Records below this offset were applied already: they only rebuild dedup memory.
        self.warm_until: dict[TP, int] = {}
        # Redis Cluster: partitions whose batches must stop at this offset and go alone,
        # until one ends there (a crashed batch's intent; streams/kpi/apply_cluster_lua.py).
        self.cuts: dict[TP, int] = {}

    def cut(self, batch: dict) -> tuple[dict, dict]:
        """The part of a fetched batch ({tp: records}) to process now, and {tp: offset} of the
        partitions to seek back to. A partition with a pending cut goes alone, its records
        stopping before the cut; the others are fetched again later. No cut: all of it."""
        if not self.cuts:
            return batch, {}
        pending = sorted((tp for tp in batch if (tp.topic, tp.partition) in self.cuts),
                         key=lambda tp: (tp.topic, tp.partition))
        if not pending:
            return batch, {}
        alone = pending[0]
        seek = {}
        for tp, records in batch.items():
            if tp != alone:
                expected = self.expected.get((tp.topic, tp.partition), ANY_START)
                first = records[0].offset
                seek[tp] = first if expected == ANY_START else min(first, expected)
        cut = self.cuts[(alone.topic, alone.partition)]
        keep = [r for r in batch[alone] if r.offset < cut]
        if len(keep) < len(batch[alone]):
            seek[alone] = cut
        return ({alone: keep} if keep else {}), seek

    def passed(self, key: TP, next_offset: int) -> None:
        """A batch of `key` ending at `next_offset` was applied: a cut it reached is done."""
        cut = self.cuts.get(key)
        if cut is not None and next_offset >= cut:
            del self.cuts[key]

    def owned(self, key: TP) -> bool:
        return key in self.expected

    def in_sequence(self, key: TP, records: list) -> tuple[list, int | None]:
        """The records continuing exactly where `key` left off, and the offset to seek back to
        when the fetch skipped ahead (a gap), else None."""
        expected = self.expected.get(key)
        if expected is None:
            return [], None  # not ours (revoked, or a batch fetched during a rebalance)
        if records[0].offset < expected:
            records = [r for r in records if r.offset >= expected]
            if not records:
                return [], None
        if records[0].offset > expected and expected != ANY_START:
            log.warning("offset gap on %s: expected %d, got %d; seeking back", key, expected,
                        records[0].offset)
            return [], expected
        self.expected[key] = records[-1].offset + 1
        return records, None

    def split_rewarm(self, key: TP, records: list) -> tuple[list, list]:
        """(records already applied, records to process) for a partition being re-warmed."""
        until = self.warm_until.get(key)
        if until is None:
            return [], records
        old = [r for r in records if r.offset < until]
        if records[-1].offset >= until - 1:
            del self.warm_until[key]
        return old, records[len(old):]

    def starts(self, keys: list[TP]) -> dict[TP, int]:
        return {key: self.chain.get(key, ANY_START) for key in keys}

    def resume(self, key: TP, stored: int | None, log_start: int | None,
               rewarm: int) -> int:
        """Positions after an assignment or a re-seek; returns the offset to seek to."""
        self.warm_until.pop(key, None)
        if stored:
            start = max(0, stored - rewarm)
            self.expected[key] = start
            self.chain[key] = stored
            if start < stored:
                self.warm_until[key] = stored
            return start
        self.expected[key] = ANY_START if log_start is None else log_start
        self.chain[key] = ANY_START
        return log_start or 0

    def forget(self, key: TP) -> None:
        self.cuts.pop(key, None)
        self.expected.pop(key, None)
        self.chain.pop(key, None)
        self.warm_until.pop(key, None)
