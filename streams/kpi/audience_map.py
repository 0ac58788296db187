"""The audience attribution's per-room state and how Redis holds it (streams.kpi.audience
folds with it): the viewer map, its value layout, groups, pending viewers and the minute
counters' field names."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

MINUTE_MS = 60_000
INTERACTIONS = frozenset(("comment", "like", "share", "follow"))
OTHER = "*"  # the values of a dimension beyond its per-broadcast bound
UNTRACKED = 0  # the group id of viewers beyond the user bounds: counted (uv), not attributed
INTERACTED, BOUGHT = 1, 2
# The minute counters of a group, each `<group id>:<metric>`: first entries, re-entries, watch
# ms, first interactions, first paid orders, GMV cents.
METRICS = ("uv", "re", "wt", "iu", "by", "gm")
UV, RE, WT, IU, BY, GM = range(6)
# (room, broadcast start) -> map increments of users, groups, pending (see _writes)
Writes = dict[tuple[str, int], tuple[dict[str, int], dict[str, int], dict[str, int]]]
# A viewer's value: first entry (unix s) * ENTRY + group id * 4 + flags; below 2^53, so the
# apply's increments (Lua numbers are doubles) stay exact. Group ids stay below 2^18: the
# settings bound regions (256) x age bands (32) x sources.
ENTRY = 1 << 20
LOW = ENTRY - 1


@dataclass(slots=True)
class RoomAudience:
    """One room's current broadcast: viewers (user -> value, the layout above), viewers not
    entered yet, and groups."""

    bstart: int
    users: dict[str, int] = field(default_factory=dict)
    # viewers not entered yet: user -> [flags, watch ms, GMV cents] (hash keys.audience_pending)
    pending: dict[str, list[int]] = field(default_factory=dict)
    groups: dict[tuple[str, str, str], int] = field(default_factory=dict)
    values: tuple[set[str], set[str]] = field(default_factory=lambda: (set(), set()))
    touched: int = 0  # the fold sequence number that last used the room

    def add_group(self, group: tuple[str, str, str], gid: int) -> None:
        self.groups[group] = gid
        self.values[0].add(group[0])
        self.values[1].add(group[1])


def group_field(group: tuple[str, str, str]) -> str:
    """A group as a hash field: JSON, so any character in a region or band is harmless."""
    return orjson.dumps(list(group)).decode()


PENDING_FIELDS = ("f:", "w:", "g:")  # flags, watch ms, GMV cents; the user id follows


def decode_room(bstart: int, users: dict[str, str], groups: dict[str, str],
                pending: dict[str, str] | None = None) -> RoomAudience:
    """A room as Redis holds it (the hashes of keys.audience_users/_groups/_pending)."""
    ra = RoomAudience(bstart)
    for f, gid in groups.items():
        region, band, source = orjson.loads(f)
        ra.add_group((region, band, source), int(gid))
    ra.users = {u: int(v) for u, v in users.items()}
    for f, n in (pending or {}).items():
        if int(n):  # a viewer credited at entry leaves zeros behind
            p = ra.pending.setdefault(f[2:], [0, 0, 0])
            p[PENDING_FIELDS.index(f[:2])] = int(n)
    return ra


def size(ra: RoomAudience) -> int:
    return len(ra.users) + len(ra.pending)


DIMS = ("r", "a", "s")  # region, age band, entry source: the order of a group's values


def parse_minute(h: dict[str, str], groups: dict[str, str]
                 ) -> dict[str, dict[str, dict[str, int]]]:
    """A minute hash (`<group id>:<metric>` -> n) with its broadcast's groups hash, as
    {dim: {value: {metric: n}}}; dim `x` holds the untracked viewers."""
    by_gid = {int(gid): orjson.loads(f) for f, gid in groups.items()}
    out: dict[str, dict[str, dict[str, int]]] = {}
    for f, n in h.items():
        gid_s, _, metric = f.partition(":")
        gid = int(gid_s)
        group = by_gid.get(gid)
        if gid == UNTRACKED or group is None:
            c = out.setdefault("x", {}).setdefault("", {})
            c[metric] = c.get(metric, 0) + int(n)
            continue
        for dim, value in zip(DIMS, group, strict=True):
            c = out.setdefault(dim, {}).setdefault(value, {})
            c[metric] = c.get(metric, 0) + int(n)
    for values in out.values():  # stored: first entries (uv) and re-entries (re)
        for c in values.values():
            entries = c.get("uv", 0) + c.pop("re", 0)
            if entries:
                c["en"] = entries
    return out
