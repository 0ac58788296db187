"""The alert timeline of each live room for history: transitions and acknowledgements read from
the console feed (the capped Redis stream every worker shares), incrementally, each pass."""

from __future__ import annotations

from typing import Any

from alerts.sinks.console import AlertFeed

READ_ROUNDS = 20  # feed entries read per pass at most: 20 x 100 (the feed keeps ~1000)
MAX_PER_ROOM = 500  # timeline entries kept per room (oldest dropped)


def entry_of(kind: str, data: dict[str, Any], rule_of: dict[str, tuple[str, str, Any]]
             ) -> tuple[str, dict[str, Any]] | None:
    """(room, timeline entry) of one feed entry, or None for what the timeline does not show."""
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
    if kind == "ack" and data.get("fingerprint") in rule_of:
        room, rule, kpi = rule_of[data["fingerprint"]]
        # acknowledgements carry wall time; alerts stream time (equal for a live room)
        return room, {"rule": rule, "state": "acknowledged", "at": data["at_ms"], "kpi": kpi,
                      "by": data.get("by"), "fingerprint": data["fingerprint"],
                      "starts_at": data["starts_at"],
                      "time_to_ack_ms": data["at_ms"] - data["starts_at"]}
    return None


class AlertLog:
    def __init__(self, feed: AlertFeed) -> None:
        self.feed = feed
        self._last = "0-0"
        self._rooms: dict[str, list[dict[str, Any]]] = {}
        self._keys: set[tuple] = set()  # an alert re-sent (group updates) is listed once
        self._rule_of: dict[str, tuple[str, str, Any]] = {}  # fingerprint -> (room, rule, kpi)

    async def poll(self) -> int:
        """Read what the feed got since the last poll; returns the entries added."""
        added = 0
        for _ in range(READ_ROUNDS):
            events = await self.feed.follow(self._last, 1)
            for e in events:
                self._last = e.id
                got = entry_of(e.kind, e.data, self._rule_of)
                if got is None:
                    continue
                room, entry = got
                key = (entry["fingerprint"], entry["state"], entry["starts_at"])
                if key in self._keys:
                    continue
                self._keys.add(key)
                timeline = self._rooms.setdefault(room, [])
                timeline.append(entry)
                del timeline[:-MAX_PER_ROOM]
                added += 1
            if len(events) < 100:
                break
        return added

    def timeline(self, room_id: str, start_ms: int, end_ms: int | None) -> list[dict[str, Any]]:
        """The room's entries within the broadcast (acknowledgements of its alerts too)."""
        out = [e for e in self._rooms.get(room_id, ())
               if e["starts_at"] >= start_ms and (end_ms is None or e["starts_at"] <= end_ms)]
        return sorted(out, key=lambda e: (e["at"], e["state"]))

    def keep(self, rooms: set[str]) -> None:
        """Forget rooms that are no longer live (bounded memory)."""
        for room in [r for r in self._rooms if r not in rooms]:
            del self._rooms[room]
        self._keys = {k for k in self._keys if self._rule_of.get(k[0], ("",))[0] in rooms}
        self._rule_of = {f: v for f, v in self._rule_of.items() if v[0] in rooms}
