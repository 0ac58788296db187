"""A hostile stream with its truth: the workload's exact KPIs plus every kind of bad input."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import orjson

from streams.bench import workload

SKEW_MS = 240_000  # a producer whose clock runs 4 minutes ahead: valid, counted in its room


@dataclass
class Hostile:
    """(topic kind, key, value) messages; `rejected` counts the messages that must end as dead
    letters, by reason; `expected` the exact KPIs of the valid ones, per room."""

    messages: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    expected: dict[str, Counter] = field(default_factory=dict)
    rejected: Counter = field(default_factory=Counter)
    duplicates: int = 0


def like(eid: str, room: str, ts: int) -> bytes:
    return orjson.dumps({"type": "like", "event_id": eid, "room_id": room, "ts": ts,
                         "count": workload.LIKE_COUNT})


def build(now_ms: int, rooms: int, steps: int, seed: int = 7) -> Hostile:
    """About rooms × steps × 8 valid events (+ duplicates, late ones) and ~3 % hostile ones."""
    rnd = random.Random(seed)
    w = workload.build(rooms, steps, now_ms - 120_000, tag="chaos", dup_every=9, bad_every=40,
                       late_every=25)
    h = Hostile(expected={r: Counter(c) for r, c in w.expected.items()},
                rejected=Counter(w.bad), duplicates=w.duplicates)
    msgs = list(w.messages)
    extra: list[tuple[str, bytes, bytes]] = []
    keys = [r.encode() for r in w.rooms]
    for i in range(len(msgs) // 100):
        kind = i % 7
        key = rnd.choice(keys)
        room = key.decode()
        if kind == 0:
            extra.append(("interactions", key, rnd.randbytes(rnd.randrange(1, 200))))
            h.rejected["random"] += 1
        elif kind == 1:  # far ahead of every clock
            extra.append(("interactions", key, like(f"fut-{i}", room, now_ms + 3_600_000)))
            h.rejected["future_ts"] += 1
        elif kind == 2:  # an id that would reach another room's keys
            evil = f"{room}}}:ph:f:{now_ms - now_ms % 10_000}:ck:z"
            extra.append(("interactions", evil.encode(), like(f"evil-{i}", evil, now_ms)))
            h.rejected["invalid"] += 1
        elif kind == 3:
            extra.append(("interactions", key, orjson.dumps({"type": "like", "deep": [[[[1]]]]})))
            h.rejected["invalid"] += 1
        elif kind == 4:  # a skewed but valid clock: its room only
            extra.append(("interactions", b"chaos-skewed",
                          like(f"skew-{i}", "chaos-skewed", now_ms - 60_000 + SKEW_MS)))
            h.expected.setdefault("chaos-skewed", Counter())["likes"] += workload.LIKE_COUNT
        elif kind == 5:
            extra.append(("interactions", key, b'{"type":"like","event_id":"x","room_id":'))
            h.rejected["not_json"] += 1
        else:
            extra.append(("interactions", key, b"\x00" * 70_000))  # above the 64 KiB limit
            h.rejected["too_large"] += 1
    # Spread the hostile messages through the stream, keeping each room's own order.
    out: list[tuple[str, bytes, bytes]] = []
    step = max(1, len(msgs) // max(1, len(extra)))
    for i, m in enumerate(msgs):
        out.append(m)
        if i % step == step - 1 and extra:
            out.append(extra.pop())
    out.extend(extra)
    h.messages = out
    return h

