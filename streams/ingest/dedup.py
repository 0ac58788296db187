"""Bounded per-partition memory of recent event_ids, rebuilt exactly from the log after a
restart."""

from __future__ import annotations

from typing import cast


class RecentIds:
    """The event_ids of the last `size` messages of ONE partition.

    The window is defined by message position, not by time, so replaying the `size` messages
    before a stored offset rebuilds exactly the memory an uninterrupted worker would have had.
    Every message takes a place in the window (duplicates, late and invalid ones too), which
    keeps that definition independent of the decisions made with it.

    Stored as one dict event_id -> position of its newest copy (an id is in the window while
    that position is), so a message costs one dict lookup and one store, with no per-message
    eviction; ids that slid out are trimmed in bulk. Bound: at most 2 × `size` entries.
    """

    __slots__ = ("_last", "_pos", "size")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("dedup memory size must be at least 1")
        self.size = size
        self._last: dict[str, int] = {}
        self._pos = 0  # position of the next message

    def __len__(self) -> int:
        """Messages in the window."""
        return min(self._pos, self.size)

    def __contains__(self, event_id: str) -> bool:
        at = self._last.get(event_id)
        return at is not None and at >= self._pos - self.size

    def skip(self, n: int = 1) -> None:
        """`n` invalid messages still take their places in the window."""
        self._pos += n

    def seen(self, event_id: str) -> bool:
        """Remember `event_id`; return True when it was already in the window (a duplicate)."""
        return bool(self.mark([event_id]))

    def mark(self, event_ids: list[str | None]) -> set[int]:
        """Remember consecutive messages (None: an invalid one); return the indices in
        `event_ids` of the duplicates."""
        last = self._last
        get = last.get
        pos = self._pos
        size = self.size
        n = len(event_ids)
        # The common case, all in C: no id seen before, none twice, none invalid.
        fresh = dict(zip(cast("list[str]", event_ids), range(pos, pos + n), strict=True))
        if len(fresh) == n and None not in fresh and last.keys().isdisjoint(fresh):
            last.update(fresh)
            self._pos = pos + n
            if len(last) > 2 * size:
                self._trim()
            return set()
        dups: set[int] = set()
        for i, eid in enumerate(event_ids):
            if eid is not None:
                at = get(eid)
                # the window of message `pos + i` is positions [pos + i - size, pos + i)
                if at is not None and at >= pos + i - size:
                    dups.add(i)
                last[eid] = pos + i
        self._pos = pos + len(event_ids)
        if len(last) > 2 * size:
            self._trim()
        return dups

    def _trim(self) -> None:
        oldest = self._pos - self.size
        self._last = {e: at for e, at in self._last.items() if at >= oldest}


class PartitionMemory:
    """RecentIds and the event-time watermark for every partition this worker owns."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: dict[tuple[str, int], RecentIds] = {}
        self.watermarks: dict[tuple[str, int], int] = {}

    def ids(self, tp: tuple[str, int]) -> RecentIds:
        mem = self._ids.get(tp)
        if mem is None:
            mem = self._ids[tp] = RecentIds(self.size)
        return mem

    def forget(self, tp: tuple[str, int]) -> None:
        """Drop a partition's memory (revoked: another worker owns it now)."""
        self._ids.pop(tp, None)
        self.watermarks.pop(tp, None)
