"""Who hosts a room when, each viewer's age band and each product's role.

None of these draws from a room's random stream (streams.simulator.generate): hosts have a
generator of their own, age bands and roles are functions of the user and the product. So the
audience, its orders and every figure of the truth are what they were before these fields
existed, for the same seed.
"""

from __future__ import annotations

import random
import zlib

MIN = 60_000
HOSTS = (("h-xiaoya", "小雅"), ("h-ajie", "阿杰"), ("h-ai", "AI 虚拟主播"), ("h-lin", "林老师"))
# A host segment is at least this long; shorter broadcasts keep one host.
MIN_SEGMENT_MIN = 10
# The seed plan's 3:5:2 over every ten products of a room.
ROLE_CYCLE = ("traffic", "profit", "strategic", "profit", "traffic", "profit", "profit",
              "strategic", "traffic", "profit")
# (age band, weight in %); bands as platforms give them.
AGE_BANDS = (("18-23", 15), ("24-30", 30), ("31-40", 30), ("41-50", 15), ("50+", 10))


def host_plan(seed: int, room_id: str, start_ms: int,
              duration_min: int) -> list[tuple[int, str, str]]:
    """(ts, host_id, host_name) of each `host_change`: 1-3 hosts taking turns, changes on
    whole broadcast minutes (so a minute has one host), the first host from the start."""
    rng = random.Random(f"roompulse-hosts:{seed}:{room_id}")
    cast = rng.sample(HOSTS, rng.randint(1, 3))
    first = [(start_ms + 3, *cast[0])]  # just after broadcast_start, phase and stage
    segments = min(len(cast) + rng.randint(0, 1), duration_min // MIN_SEGMENT_MIN)
    if len(cast) == 1 or segments < 2:
        return first
    # Cuts on whole minutes, each segment at least MIN_SEGMENT_MIN long.
    slack = duration_min - segments * MIN_SEGMENT_MIN
    offsets = sorted(rng.randint(0, slack) for _ in range(segments - 1))
    cuts = [k * MIN_SEGMENT_MIN + off for k, off in enumerate(offsets, start=1)]
    return first + [(start_ms + m * MIN, *cast[k % len(cast)])
                    for k, m in enumerate(cuts, start=1)]


def role_of(index: int) -> str:
    """The role of a room's product number `index` (0-based)."""
    return ROLE_CYCLE[index % len(ROLE_CYCLE)]


def age_band(user_id: str) -> str:
    """A viewer's age band: the same in every room and session."""
    point = zlib.crc32(user_id.encode()) % 100
    for band, weight in AGE_BANDS:
        if point < weight:
            return band
        point -= weight
    return AGE_BANDS[-1][0]
