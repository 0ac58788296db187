"""Redis memory per room after a bench run: the sizing figure of docs/deployment.md.

Measured per key, not as a difference of `INFO memory` used_memory: the bench's Redis also
holds the baseline's and the latency phase's keys, the AOF rewrite buffers and the allocator's
slack, none of which belongs to a room. Every key of a room carries the hash tag `{room}`
right after the prefix (streams/kpi/keys.py), so one SCAN for `<prefix>:{*` finds them all
(state, fine and coarse buckets, HyperLogLogs, product HLLs and names) on a single node and,
through redis-py's cluster SCAN, on every master of a cluster.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from streams.kpi.keys import Keys
from streams.kpi.store_cluster import tag_of

SCAN_COUNT = 1000
CHUNK = 1000  # MEMORY USAGE calls per pipeline round trip


def _text(key: Any) -> str:
    return key.decode() if isinstance(key, bytes) else str(key)


def kind_of(key: str) -> str:
    """What a room key holds, from its first segment after the hash tag (streams/kpi/keys.py):
    "room" (the room hash), "state", "b" (KPI buckets), "h" (room HLLs), "ph" (product HLLs),
    "pnames" (product names)."""
    rest = key[key.index("}", key.index("{")) + 1:]
    return rest[1:].split(":", 1)[0] if rest.startswith(":") else "room"


def _glob_escape(text: str) -> str:
    """`text` matched literally by SCAN's glob (a prefix may hold * ? [ ] or a backslash)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


async def room_memory(client: Any, keys: Keys, rooms: list[str]) -> dict:
    """Mean bytes and keys per room over `rooms`, from `MEMORY USAGE key SAMPLES 0` (every
    element of a hash or sorted set counted, not a 5-element estimate) summed over each
    room's keys. It counts what valkey allocates for the key and its value; the expiry entry
    of a key with a TTL and the allocator's fragmentation are not in it."""
    wanted = set(rooms)
    found: set[str] = set()
    # SCAN may return a key twice (rehashing); the set keeps one.
    async for key in client.scan_iter(match=f"{_glob_escape(keys.prefix)}:{{*",
                                      count=SCAN_COUNT):
        if tag_of(name := _text(key)) in wanted:
            found.add(name)
    names = sorted(found)
    size: Counter[str] = Counter()
    count: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    for i in range(0, len(names), CHUNK):
        chunk = names[i:i + CHUNK]
        pipe = client.pipeline(transaction=False)
        for name in chunk:
            pipe.memory_usage(name, samples=0)
        for name, used in zip(chunk, await pipe.execute(), strict=True):
            room = tag_of(name)
            size[room] += int(used or 0)  # None: the key expired between SCAN and here
            count[room] += 1
            by_kind[kind_of(name)] += int(used or 0)
    n = len(wanted) or 1
    return {"redis_bytes_per_room": round(sum(size.values()) / n),
            "redis_keys_per_room": round(sum(count.values()) / n, 1),
            "redis_bytes_per_room_by_kind": {k: round(v / n) for k, v in sorted(by_kind.items())}}
