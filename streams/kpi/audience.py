"""Live audience attribution: each viewer's region, age band and entry source, joined with what
the viewer does later, counted per minute (pure: no I/O; the worker loads and applies).

A viewer is counted under the group of their FIRST entry of the broadcast (as the report's
recording path does, streams.report.audience): `uv` when they first enter, `en` for every
entry, `wt` for the watch time of their leaves, `iu` at their first interaction, `by` at
their first paid order, `gm` for their paid minus refunded amount (cents). Each counter goes
to the minute of its event, once per dimension (`r:` region, `a:` age band, `s:` source), so
the sum of a broadcast's minutes is exact, distinct counts included.

Events come from several topics (views, interactions, orders, control), so a viewer's like or
order can be folded before their entry: what a viewer does before the worker has seen their
entry waits in a pending map (flags, watch time, GMV) and is credited, in the entry's minute,
when the entry comes. A viewer who never enters is never attributed (as in a recording).

The per-viewer map lives in Redis (written by the same atomic apply as the counters, as
increments; layout in streams.kpi.audience_map) and in the worker's memory as a cache that
always equals what Redis holds plus the batches in flight: the worker drops it whenever a batch
is not applied, and loads a room again from Redis before folding it. A broadcast_start folded
after entries of its own broadcast (the control topic read behind the views topic) takes the
viewers who entered since its start along to the new broadcast's map.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streams.kpi.audience_map import (
    BOUGHT,
    ENTRY,
    INTERACTED,
    INTERACTIONS,
    LOW,
    MINUTE_MS,
    OTHER,
    PENDING_FIELDS,
    UNTRACKED,
    RoomAudience,
    Writes,
    group_field,
    size,
)
from streams.kpi.keys import Keys


class AudienceTracker:
    """Fold a batch's audience events (BatchFolder collects them in `Delta.audience`) into
    counter and map increments (`Delta.extra_hashes`), per room loaded with `put`."""

    def __init__(self, keys: Keys, max_users_per_room: int, max_users: int,
                 max_regions: int, max_age_bands: int) -> None:
        self.keys = keys
        self.max_users_per_room, self.max_users = max_users_per_room, max_users
        self.max_values = (max_regions, max_age_bands)
        self.rooms: dict[str, RoomAudience] = {}
        self.total_users = 0
        self.seq = 0
        self.untracked = 0  # viewers not attributed since start (a metric reads it)
        self.evicted = 0

    def clear(self) -> None:
        """Forget every room (a batch was not applied: Redis is the truth again)."""
        self.rooms.clear()
        self.total_users = 0

    def missing(self, events: Iterable[Any]) -> set[str]:
        rooms = self.rooms
        return {e.room_id for e in events if e.room_id not in rooms}

    def put(self, room: str, ra: RoomAudience) -> None:
        old = self.rooms.get(room)
        self.total_users += size(ra) - (size(old) if old else 0)
        ra.touched = self.seq
        self.rooms[room] = ra

    def evict(self, protect: set[str]) -> None:
        """Call before a fold. At the total bound, drop the rooms used longest ago - never
        a room of the coming batch (`protect`) or of the last one folded, whose writes may
        still be in flight: a room dropped is loaded again from Redis when it comes back."""
        if self.total_users < self.max_users:
            return
        for room, ra in sorted(self.rooms.items(), key=lambda kv: kv[1].touched):
            if self.total_users < self.max_users or ra.touched >= self.seq:
                break
            if room in protect:
                continue
            del self.rooms[room]
            self.total_users -= size(ra)
            self.evicted += 1

    def fold(self, events: list[Any], extra: dict[str, dict[str, int]]) -> None:
        """Every event's room must have been `put`. Adds increments to `extra` (key -> field ->
        amount), the hashes the apply writes next to the KPI buckets."""
        self.seq += 1
        minutes: dict[tuple[str, int], dict[str, int]] = {}
        writes: Writes = {}
        for e in events:
            room = e.room_id
            ra = self.rooms[room]
            ra.touched = self.seq
            kind = e.type
            if kind == "broadcast_start":
                if e.ts > ra.bstart:  # a new broadcast: its viewers are new again
                    ra = self.rooms[room] = self._new_broadcast(room, ra, e.ts, writes)
                continue
            ts = e.ts
            mk = (room, ts - ts % MINUTE_MS)
            c = minutes.get(mk)
            if c is None:
                c = minutes[mk] = {}
            user = e.user_id
            value = ra.users.get(user)
            if value is None:
                if kind != "enter":
                    self._wait(room, ra, e, kind, writes)
                    continue
                value = self._new_user(room, ra, e, c, writes)
                if value is None:
                    continue
                pre = ra.prefixes[(value & LOW) >> 2]
                for p in pre:
                    c[p + "uv"] = c.get(p + "uv", 0) + 1
                if user in ra.pending:
                    value = self._credit(room, ra, user, value, pre, c, writes)
            else:
                pre = ra.prefixes[(value & LOW) >> 2]
            if kind == "enter":
                for p in pre:
                    c[p + "en"] = c.get(p + "en", 0) + 1
            elif kind == "leave":
                for p in pre:
                    c[p + "wt"] = c.get(p + "wt", 0) + e.watch_ms
            elif kind in INTERACTIONS:
                if not value & INTERACTED:
                    self._flag(room, ra, user, value, INTERACTED, writes)
                    for p in pre:
                        c[p + "iu"] = c.get(p + "iu", 0) + 1
            elif kind == "order":
                cents = round(e.amount * 100)
                if e.status == "paid":
                    if not value & BOUGHT:
                        self._flag(room, ra, user, value, BOUGHT, writes)
                        for p in pre:
                            c[p + "by"] = c.get(p + "by", 0) + 1
                elif e.status == "refunded":
                    cents = -cents
                else:
                    continue
                for p in pre:
                    c[p + "gm"] = c.get(p + "gm", 0) + cents
        keys = self.keys
        for (room, minute), counts in minutes.items():
            if counts:
                _merge(extra, keys.audience_minute(room, minute), counts)
        for (room, bstart), (users, groups, pending) in writes.items():
            if users:
                _merge(extra, keys.audience_users(room, bstart), users)
            if groups:
                _merge(extra, keys.audience_groups(room, bstart), groups)
            if pending:
                _merge(extra, keys.audience_pending(room, bstart), pending)

    def _new_broadcast(self, room: str, old: RoomAudience, start: int,
                       writes: Writes) -> RoomAudience:
        """A broadcast starts. Topics are read at their own pace, so viewers folded before
        the start may have entered after it: those (and every viewer still waiting for an
        entry) move to the new broadcast's map; the rest are forgotten."""
        ra = RoomAudience(start, touched=self.seq)
        since = start // 1000
        users, groups, pending = _writes(writes, room, start)
        by_gid = {gid: g for g, gid in old.groups.items()}
        for user, value in old.users.items():
            if value // ENTRY < since:
                continue
            group = by_gid[(value & LOW) >> 2]
            gid = ra.groups.get(group)
            if gid is None:
                gid = len(ra.groups) + 1
                ra.add_group(group, gid)
                groups[group_field(group)] = gid
            moved = value // ENTRY * ENTRY + (gid << 2) + (value & 3)
            ra.users[user] = users[user] = moved
        for user, p in old.pending.items():
            ra.pending[user] = p
            for i, n in enumerate(p):
                if n:
                    pending[PENDING_FIELDS[i] + user] = n
        self.total_users += size(ra) - size(old)
        return ra

    def _wait(self, room: str, ra: RoomAudience, e: Any, kind: str, writes: Writes) -> None:
        """What a viewer not entered yet did: kept until their entry."""
        user = e.user_id
        p = ra.pending.get(user)
        if p is None:
            if size(ra) >= self.max_users_per_room or self.total_users >= self.max_users:
                return
            p = ra.pending[user] = [0, 0, 0]
            self.total_users += 1
        add: tuple[int, int, int]
        if kind == "leave":
            add = (0, e.watch_ms, 0)
        elif kind in INTERACTIONS:
            add = (0 if p[0] & INTERACTED else INTERACTED, 0, 0)
        elif kind == "order" and e.status in ("paid", "refunded"):
            cents = round(e.amount * 100)
            if e.status == "paid":
                add = (0 if p[0] & BOUGHT else BOUGHT, 0, cents)
            else:
                add = (0, 0, -cents)
        else:
            return
        w = _writes(writes, room, ra.bstart)[2]
        for i, n in enumerate(add):
            if n:
                p[i] += n
                f = PENDING_FIELDS[i] + user
                w[f] = w.get(f, 0) + n

    def _credit(self, room: str, ra: RoomAudience, user: str, value: int,
                pre: tuple[str, str, str], c: dict[str, int], writes: Writes) -> int:
        """A viewer's first entry: what they did before it counts now, in its minute."""
        flags, watch, cents = ra.pending.pop(user)
        self.total_users -= 1
        for p in pre:
            for metric, n in (("iu", flags & INTERACTED), ("by", flags & BOUGHT and 1),
                              ("wt", watch), ("gm", cents)):
                if n:
                    c[p + metric] = c.get(p + metric, 0) + n
        users, _, pending = _writes(writes, room, ra.bstart)
        for i, n in enumerate((flags, watch, cents)):
            if n:
                f = PENDING_FIELDS[i] + user
                pending[f] = pending.get(f, 0) - n  # back to zero: credited
        if flags:
            value |= flags
            ra.users[user] = value
            users[user] = users.get(user, 0) + flags
        return value

    def _new_user(self, room: str, ra: RoomAudience, e: Any, c: dict[str, int],
                  writes: Writes) -> int | None:
        waiting = e.user_id in ra.pending  # counted already
        if size(ra) - waiting >= self.max_users_per_room or \
                self.total_users - waiting >= self.max_users:
            c[UNTRACKED + "uv"] = c.get(UNTRACKED + "uv", 0) + 1
            self.untracked += 1
            return None
        region, band = e.region or "", e.age_band or ""
        if region not in ra.values[0] and len(ra.values[0]) >= self.max_values[0]:
            region = OTHER
        if band not in ra.values[1] and len(ra.values[1]) >= self.max_values[1]:
            band = OTHER
        group = (region, band, str(e.source or "other"))
        users, groups, _ = _writes(writes, room, ra.bstart)
        gid = ra.groups.get(group)
        if gid is None:
            gid = len(ra.groups) + 1
            ra.add_group(group, gid)
            groups[group_field(group)] = gid
        value: int = e.ts // 1000 * ENTRY + (gid << 2)
        ra.users[e.user_id] = value
        users[e.user_id] = users.get(e.user_id, 0) + value
        self.total_users += 1
        return value

    def _flag(self, room: str, ra: RoomAudience, user: str, value: int, flag: int,
              writes: Writes) -> None:
        ra.users[user] = value | flag
        users = _writes(writes, room, ra.bstart)[0]
        users[user] = users.get(user, 0) + flag


def _writes(writes: Writes, room: str, bstart: int
            ) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """The map increments of one room's broadcast: users, groups, pending."""
    w = writes.get((room, bstart))
    if w is None:
        w = writes[(room, bstart)] = ({}, {}, {})
    return w


def _merge(extra: dict[str, dict[str, int]], key: str, counts: dict[str, int]) -> None:
    into = extra.get(key)
    if into is None:
        extra[key] = counts
        return
    for f, n in counts.items():
        into[f] = into.get(f, 0) + n
