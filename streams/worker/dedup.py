"""Bounded per-partition memory of recent event_ids, rebuilt exactly from the log after a restart."""

from __future__ import annotations

from collections import deque


class RecentIds:
    """The event_ids of the last `size` messages of ONE partition.

    Bound: at most `size` ids (and one counter entry per distinct id among them) per partition.
    The window is defined by message position, not by time, so replaying the `size` messages
    before a stored offset rebuilds exactly the memory an uninterrupted worker would have had.
    Every message takes a place in the window (duplicates, late and invalid ones too), which
    keeps that definition independent of the decisions made with it.
    """

    __slots__ = ("_count", "_order", "size")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("dedup memory size must be at least 1")
        self.size = size
        self._order: deque[str] = deque()
        self._count: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._count

    def skip(self) -> None:
        """An invalid message still takes a place in the window ("" is never an event_id)."""
        self.seen("")

    def seen(self, event_id: str) -> bool:
        """Remember `event_id`; return True when it was already in the window (a duplicate)."""
        count = self._count
        n = count.get(event_id, 0)
        count[event_id] = n + 1
        order = self._order
        order.append(event_id)
        if len(order) > self.size:
            old = order.popleft()
            left = count[old] - 1
            if left:
                count[old] = left
            else:
                del count[old]
        return n > 0


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
