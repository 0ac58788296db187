"""The audience attribution's per-room state and how Redis holds it (streams.kpi.audience
folds with it): the viewer map, its value layout, groups, pending viewers and the minute
counters' field names."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

MINUTE_MS = 60_000
INTERACTIONS = frozenset(("comment", "like", "share", "follow"))
OTHER = "*"  # the values of a dimension beyond its per-broadcast bound
UNTRACKED = "x::"  # viewers beyond the user bounds: counted (uv, en), not attributed
INTERACTED, BOUGHT = 1, 2
# (room, broadcast start) -> map increments of users, groups, pending (see _writes)
Writes = dict[tuple[str, int], tuple[dict[str, int], dict[str, int], dict[str, int]]]
# A viewer's value: first entry (unix s) * _ENTRY + group id * 4 + flags; below 2^53, so the
# apply's increments (Lua numbers are doubles) stay exact. Group ids stay below 2^18: the
# settings bound regions (256) x age bands (32) x sources.
ENTRY = 1 << 20
LOW = ENTRY - 1


@dataclass(slots=True)
class RoomAudience:
    """One room's current broadcast: viewers (user -> group id * 4 + flags) and groups."""

    bstart: int
    users: dict[str, int] = field(default_factory=dict)
    # viewers not entered yet: user -> [flags, watch ms, GMV cents] (hash keys.audience_pending)
    pending: dict[str, list[int]] = field(default_factory=dict)
    groups: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # per group id: the field-name prefixes of its three dimensions
    prefixes: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    values: tuple[set[str], set[str]] = field(default_factory=lambda: (set(), set()))
    touched: int = 0  # the fold sequence number that last used the room

    def add_group(self, group: tuple[str, str, str], gid: int) -> None:
        self.groups[group] = gid
        self.prefixes[gid] = (f"r:{group[0]}:", f"a:{group[1]}:", f"s:{group[2]}:")
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


def parse_minute(h: dict[str, str]) -> dict[str, dict[str, dict[str, int]]]:
    """A minute hash as {dim: {value: {metric: n}}} (`x` holds the untracked viewers)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for f, n in h.items():
        dim, rest = f[0], f[2:]
        value, _, metric = rest.rpartition(":")
        out.setdefault(dim, {}).setdefault(value, {})[metric] = int(n)
    return out
