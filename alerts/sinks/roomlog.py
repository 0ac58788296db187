"""Each room's alert log: the console feed's alert transitions and acknowledgements of one room,
kept apart from the shared feed so that history's timeline is complete.

The feed (console.py) is one capped stream for every room: a busy hour of other rooms scrolls a
quiet room's alerts out of it before anyone copies them. The log is a stream per room (key:
feedkeys.py), written by the same scripts that write the feed, so the two never disagree;
capped per room (exactly, so the cap holds and what it drops is counted) and expiring with the
room (the TTL of the KPI store's room state, refreshed on every write). History reads it
incrementally per room and merges it with what it already stored for the broadcast.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter

if TYPE_CHECKING:
    from alerts.model import Alert
    from alerts.sinks.console import FeedEvent

ROOM_LOG_MAXLEN = 500  # entries per room (ROOMPULSE_CONSOLE_ALERT_LOG_MAX_PER_ROOM)
ROOM_LOG_TTL_S = 14 * 86400  # the KPI store's room_ttl_s default: the log lives as its room
MEMORY_ROOMS = 10_000  # rooms an in-memory feed keeps logs for (the least recently written go)
READ_COUNT = 100  # entries per read of a log

_TRIMMED: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def trimmed_counter(registry: CollectorRegistry) -> Counter:
    """One counter per registry: the pipeline's feed and the console's both write logs."""
    if registry not in _TRIMMED:
        _TRIMMED[registry] = Counter(
            "roompulse_console_alert_log_trimmed",
            "entries dropped from a room's alert log by its per-room cap (history's timeline "
            "loses them unless it read them before)", registry=registry)
    return _TRIMMED[registry]


def ack_log_entry(ack: dict[str, Any], alert: Alert) -> dict[str, Any]:
    """The log's acknowledgement: the feed's, plus the room, rule and KPI of the alert, so that a
    reader needs no earlier entry (the firing one may have been trimmed) to place it."""
    return {"kind": "ack", **ack, "room_id": alert.room_id, "rule": alert.rule,
            "kpi": alert.evidence.kpi}


class MemoryRoomLogs:
    """The logs of MemoryConsoleFeed: the same caps, in one process's memory."""

    def __init__(self, maxlen: int, trimmed: Counter, max_rooms: int = MEMORY_ROOMS) -> None:
        self._logs: OrderedDict[str, list[FeedEvent]] = OrderedDict()
        self._maxlen, self._trimmed, self._max_rooms = maxlen, trimmed, max_rooms

    def add(self, room_id: str, event: FeedEvent) -> None:
        log = self._logs.setdefault(room_id, [])
        self._logs.move_to_end(room_id)
        log.append(event)
        if len(log) > self._maxlen:
            self._trimmed.inc(len(log) - self._maxlen)
            del log[:-self._maxlen]
        while len(self._logs) > self._max_rooms:
            self._logs.popitem(last=False)

    def after(self, room_id: str, last_id: str, limit: int) -> list[FeedEvent]:
        key = id_key(last_id)
        return [e for e in self._logs.get(room_id, ()) if id_key(e.id) > key][:limit]


def id_key(entry_id: str) -> tuple[int, int]:
    """A stream id (`ms-seq`) as a sortable pair; anything else sorts first."""
    ms, _, seq = entry_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return 0, 0
