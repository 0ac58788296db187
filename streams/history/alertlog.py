"""The alert timeline of each live room for history: transitions and acknowledgements read from
the room's own alert log in Redis (alerts/sinks/roomlog.py), incrementally, when the room's
summary is written; merged with what history stored for the broadcast before (a restarted or
new leader starts from those, and keeps entries the log's per-room cap dropped since)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alerts.sinks.console import AlertFeed
from alerts.sinks.roomlog import READ_COUNT

MAX_PER_ROOM = 500  # timeline entries kept per room (oldest dropped)
READ_ROUNDS = 20  # reads of one room per summary at most: 20 x 100 entries (the rest next time)


def entry_of(kind: str, data: dict[str, Any], rule_of: dict[str, tuple[str, str, Any]]
             ) -> tuple[str, dict[str, Any]] | None:
    """(room, timeline entry) of one feed or log entry, or None for what the timeline does not
    show. An acknowledgement is placed by the alert seen before it, or by the room, rule and
    KPI a log's acknowledgement carries."""
    if kind == "alert":
        a = data.get("alert") or {}
        firing = a.get("state") == "firing"
        at = a.get("starts_at") if firing else a.get("ends_at")
        if not isinstance(a.get("room_id"), str) or not isinstance(at, int):
            return None
        kpi = (a.get("evidence") or {}).get("kpi")
        rule_of[a["fingerprint"]] = (a["room_id"], a["rule"], kpi)
        return a["room_id"], {
            "rule": a["rule"], "state": "fired" if firing else "resolved", "at": at,
            "kpi": kpi, "value": (a.get("evidence") or {}).get("value"),
            "labels": a.get("labels") or {}, "fingerprint": a["fingerprint"],
            "starts_at": a["starts_at"]}
    fp = data.get("fingerprint")
    if kind != "ack" or not isinstance(fp, str):
        return None
    placed = rule_of.get(fp)
    if placed is None and isinstance(data.get("room_id"), str) and isinstance(
            data.get("rule"), str):
        placed = (data["room_id"], data["rule"], data.get("kpi"))
    if placed is None or not isinstance(data.get("at_ms"), int) or not isinstance(
            data.get("starts_at"), int):
        return None
    room, rule, kpi = placed
    # acknowledgements carry wall time; alerts stream time (equal for a live room)
    return room, {"rule": rule, "state": "acknowledged", "at": data["at_ms"], "kpi": kpi,
                  "by": data.get("by"), "fingerprint": data["fingerprint"],
                  "starts_at": data["starts_at"],
                  "time_to_ack_ms": data["at_ms"] - data["starts_at"]}


def _key(entry: dict[str, Any]) -> tuple:
    """An alert re-sent for group updates is listed once."""
    return entry.get("fingerprint"), entry.get("state"), entry.get("starts_at")


@dataclass
class _Room:
    last: str = "0-0"  # the last log entry read
    entries: list[dict[str, Any]] = field(default_factory=list)
    keys: set[tuple] = field(default_factory=set)
    rule_of: dict[str, tuple[str, str, Any]] = field(default_factory=dict)
    merged: set[str] = field(default_factory=set)  # broadcasts whose stored timeline is in


class AlertLog:
    def __init__(self, feed: AlertFeed, max_per_room: int = MAX_PER_ROOM) -> None:
        self.feed = feed
        self.max_per_room = max_per_room
        self._rooms: dict[str, _Room] = {}
        self.dropped = 0  # entries over max_per_room (the writer counts them)

    def merged(self, room_id: str, broadcast: str) -> bool:
        return broadcast in self._room(room_id).merged

    def merge(self, room_id: str, broadcast: str, stored: list[dict[str, Any]]) -> int:
        """Take in the timeline history stored for `broadcast` before; returns the entries
        added (those this process had not read itself)."""
        room = self._room(room_id)
        room.merged.add(broadcast)
        return self._add(room, [e for e in stored if isinstance(e, dict)
                                and isinstance(e.get("at"), int)
                                and isinstance(e.get("starts_at"), int)])

    async def read(self, room_id: str) -> int:
        """Read the room's log since the last read (all of it the first time); returns the
        entries added."""
        room = self._room(room_id)
        added = 0
        for _ in range(READ_ROUNDS):
            events = await self.feed.room_log(room_id, room.last)
            new = []
            for e in events:
                room.last = e.id
                got = entry_of(e.kind, e.data, room.rule_of)
                if got is not None and got[0] == room_id:
                    new.append(got[1])
            added += self._add(room, new)
            if len(events) < READ_COUNT:
                break
        return added

    def _add(self, room: _Room, entries: list[dict[str, Any]]) -> int:
        added = 0
        for entry in entries:
            key = _key(entry)
            if key in room.keys:
                continue
            room.keys.add(key)
            room.entries.append(entry)
            added += 1
        over = len(room.entries) - self.max_per_room
        if over > 0:
            # the oldest go, whatever order they came in (stored ones come after newer reads)
            room.entries.sort(key=lambda e: (e["at"], e["state"]))
            del room.entries[:over]
            room.keys = {_key(e) for e in room.entries}
            self.dropped += over
        return added

    def timeline(self, room_id: str, start_ms: int, end_ms: int | None) -> list[dict[str, Any]]:
        """The room's entries within the broadcast (acknowledgements of its alerts too)."""
        room = self._rooms.get(room_id)
        out = [e for e in (room.entries if room else ())
               if e["starts_at"] >= start_ms and (end_ms is None or e["starts_at"] <= end_ms)]
        return sorted(out, key=lambda e: (e["at"], e["state"]))

    def keep(self, rooms: set[str]) -> None:
        """Forget rooms that are no longer live (bounded memory)."""
        for room in [r for r in self._rooms if r not in rooms]:
            del self._rooms[room]

    def _room(self, room_id: str) -> _Room:
        return self._rooms.setdefault(room_id, _Room())
