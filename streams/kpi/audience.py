"""Live audience attribution: each viewer's region, age band and entry source, joined with what
the viewer does later, counted per minute (pure: no I/O; the worker loads and applies).

A viewer is counted under the group of their FIRST entry of the broadcast (as the report's
recording path does, streams.report.audience): `uv` when they first enter, `re` for each
entry after that, `wt` for the watch time of their leaves, `iu` at their first interaction, `by` at
their first paid order, `gm` for their paid minus refunded amount (cents). Each counter goes
to the minute of its event under the viewer's group id (one region, age band and source;
streams.kpi.audience_map.parse_minute splits it by dimension), so the sum of a broadcast's
minutes is exact, distinct counts included.

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
    BY,
    ENTRY,
    GM,
    INTERACTED,
    INTERACTIONS,
    IU,
    LOW,
    METRICS,
    MINUTE_MS,
    OTHER,
    PENDING_FIELDS,
    RE,
    UV,
    WT,
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
        self._fields: list[tuple[str, ...]] = []  # group id -> its minute fields, by METRICS
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

    def fold(self, events: list[Any], extra: dict[str, dict[str, int]],
             minutes: dict[str, dict[str, int]]) -> None:
        """Every event's room must have been `put`. Adds increments (key -> field -> amount)
        to `extra` (the viewer maps) and `minutes` (the minute counters, `<group id>:<metric>`,
        group 0 = untracked), the hashes the apply writes next to the KPI buckets."""
        self.seq += 1
        seq, rooms = self.seq, self.rooms
        # (room, minute) -> field -> amount, the field names made once per group (`_fields`)
        cnt: dict[tuple[str, int], dict[str, int]] = {}
        fields = self._fields
        writes: Writes = {}
        for e in events:
            room = e.room_id
            ra = rooms[room]
            ra.touched = seq
            kind = e.type
            if kind == "broadcast_start":
                if e.ts > ra.bstart:  # a new broadcast: its viewers are new again
                    ra = rooms[room] = self._new_broadcast(room, ra, e.ts, writes)
                continue
            ts = e.ts
            mk = (room, ts - ts % MINUTE_MS)
            c = cnt.get(mk)
            if c is None:
                c = cnt[mk] = {}
            user = e.user_id
            value = ra.users.get(user)
            first = False
            if value is None:
                first = True
                if kind != "enter":
                    self._wait(room, ra, e, kind, writes)
                    continue
                value = self._new_user(room, ra, e, writes)
                gid = (value & LOW) >> 2
                names = fields[gid] if gid < len(fields) else self._names(gid)
                f = names[UV]
                c[f] = c.get(f, 0) + 1
                if not gid:
                    continue  # untracked: counted, not attributed
                if user in ra.pending:
                    value = self._credit(room, ra, user, value, names, c, writes)
            else:
                gid = (value & LOW) >> 2
                names = fields[gid] if gid < len(fields) else self._names(gid)
            if kind == "enter":
                if not first:  # a first entry is its `uv`; re-entries are counted apart
                    f = names[RE]
                    c[f] = c.get(f, 0) + 1
            elif kind == "leave":
                f = names[WT]
                c[f] = c.get(f, 0) + e.watch_ms
            elif kind in INTERACTIONS:
                if not value & INTERACTED:
                    self._flag(room, ra, user, value, INTERACTED, writes)
                    f = names[IU]
                    c[f] = c.get(f, 0) + 1
            elif kind == "order":
                cents = round(e.amount * 100)
                if e.status == "paid":
                    if not value & BOUGHT:
                        self._flag(room, ra, user, value, BOUGHT, writes)
                        f = names[BY]
                        c[f] = c.get(f, 0) + 1
                elif e.status == "refunded":
                    cents = -cents
                else:
                    continue
                f = names[GM]
                c[f] = c.get(f, 0) + cents
        keys = self.keys
        for (room, minute), counts in cnt.items():
            if counts:
                _merge(minutes, keys.audience_minute(room, minute), counts)
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
        # The groups keep their ids: minute counters already written under them read alike.
        for group, gid in old.groups.items():
            ra.add_group(group, gid)
            groups[group_field(group)] = gid
        for user, value in old.users.items():
            if value // ENTRY >= since:
                ra.users[user] = users[user] = value
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

    def _names(self, gid: int) -> tuple[str, ...]:
        """The minute-hash field names of group ids up to `gid` (made once per process)."""
        while len(self._fields) <= gid:
            g = len(self._fields)
            self._fields.append(tuple(f"{g}:{m}" for m in METRICS))
        return self._fields[gid]

    def _credit(self, room: str, ra: RoomAudience, user: str, value: int,
                names: tuple[str, ...], c: dict[str, int], writes: Writes) -> int:
        """A viewer's first entry: what they did before it counts now, in its minute."""
        flags, watch, cents = ra.pending.pop(user)
        self.total_users -= 1
        for i, n in ((IU, flags & INTERACTED), (BY, flags & BOUGHT and 1), (WT, watch),
                     (GM, cents)):
            if n:
                c[names[i]] = c.get(names[i], 0) + n
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

    def _new_user(self, room: str, ra: RoomAudience, e: Any, writes: Writes) -> int:
        """A viewer's first entry: their value (group 0 when a bound leaves them untracked)."""
        user = e.user_id
        waiting = user in ra.pending  # counted already
        if len(ra.users) + len(ra.pending) - waiting >= self.max_users_per_room or \
                self.total_users - waiting >= self.max_users:
            self.untracked += 1
            return 0
        group = (e.region or "", e.age_band or "", str(e.source or "other"))
        gid = ra.groups.get(group)
        if gid is None:  # a new group: within the bounds of distinct values?
            region, band, source = group
            if region not in ra.values[0] and len(ra.values[0]) >= self.max_values[0]:
                region = OTHER
            if band not in ra.values[1] and len(ra.values[1]) >= self.max_values[1]:
                band = OTHER
            group = (region, band, source)
            gid = ra.groups.get(group)
            if gid is None:
                gid = len(ra.groups) + 1
                ra.add_group(group, gid)
                _writes(writes, room, ra.bstart)[1][group_field(group)] = gid
        value: int = e.ts // 1000 * ENTRY + (gid << 2)
        ra.users[user] = value
        # a new viewer has no increment in this batch yet (a new broadcast's map is new)
        _writes(writes, room, ra.bstart)[0][user] = value
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
