"""The audience attribution's reads: a room's viewer map before a fold, a minute's counters
for history (streams.kpi.audience holds the fold and the key layout)."""

from __future__ import annotations

from typing import Any

from streams.kpi.audience import AudienceTracker
from streams.kpi.audience_map import decode_room, parse_minute
from streams.kpi.store_base import KpiStoreBase


async def load_rooms(store: KpiStoreBase, tracker: AudienceTracker, rooms: set[str]) -> None:
    """Put each room's current broadcast (its state's `bstart`, 0 before any) as Redis holds
    it into `tracker`: two round trips for the whole set."""
    order = sorted(rooms)
    keys = store.keys
    states = await store.read_hashes([keys.state(r) for r in order])
    starts = [int(h.get("bstart") or 0) for h in states]
    flat = await store.read_hashes([k for r, b in zip(order, starts, strict=True)
                                    for k in (keys.audience_users(r, b),
                                              keys.audience_groups(r, b),
                                              keys.audience_pending(r, b))])
    for i, (room, bstart) in enumerate(zip(order, starts, strict=True)):
        tracker.put(room, decode_room(bstart, *flat[3 * i:3 * i + 3]))


async def read_minute(store: KpiStoreBase, room_id: str, minute_ms: int,
                      broadcast_start_ms: int) -> dict[str, dict[str, dict[str, Any]]]:
    """{dim: {value: {metric: n}}} of one minute of a broadcast ({} when nothing was
    attributed): its counters and the broadcast's groups, in one round trip."""
    keys = store.keys
    h, groups = await store.read_hashes([keys.audience_minute(room_id, minute_ms),
                                         keys.audience_groups(room_id, broadcast_start_ms)])
    return parse_minute(h, groups) if h else {}
