"""Live audience attribution (streams.kpi.audience), pure: folded batch by batch, through a
restart that reloads the map from what the applies wrote, it gives the same rows as the
recording path's per-viewer join (streams.report.audience.Audience)."""

from __future__ import annotations

import random
from types import SimpleNamespace

from streams.kpi.audience import AudienceTracker
from streams.kpi.audience_map import OTHER, RoomAudience, decode_room, parse_minute
from streams.kpi.keys import Keys
from streams.report.audience import Audience, from_minutes

KEYS = Keys("t")
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000
REGIONS = ("广东", "浙江", "a:b}", None)
BANDS = ("18-23", "24-30", None)
SOURCES = ("recommend", "search", "follow", "ads", "other")


def ev(room: str, ts: int, kind: str, user: str | None = None, **kw) -> SimpleNamespace:
    base = {"room_id": room, "ts": ts, "type": kind, "user_id": user, "region": None,
            "age_band": None, "source": "other", "watch_ms": 0, "amount": 0.0, "status": "paid"}
    base.update(kw)
    return SimpleNamespace(**base)


def traffic(seed: int, rooms: int = 2, n: int = 3000) -> list[SimpleNamespace]:
    """Viewers enter (some twice, from elsewhere), leave, interact, pay and get refunds; some
    act before any entry; every room starts a broadcast first."""
    rng = random.Random(seed)
    out = [ev(f"r{i}", T0, "broadcast_start") for i in range(rooms)]
    entered: dict[str, list[str]] = {f"r{i}": [] for i in range(rooms)}
    for i in range(n):
        ts = T0 + 1 + i * 137
        room = f"r{rng.randrange(rooms)}"
        seen = entered[room]
        if not seen or rng.random() < 0.25:
            user = f"u{rng.randrange(400)}"
            out.append(ev(room, ts, "enter", user, region=rng.choice(REGIONS),
                          age_band=rng.choice(BANDS), source=rng.choice(SOURCES)))
            seen.append(user)
            continue
        user = rng.choice(seen) if rng.random() < 0.95 else f"ghost{i}"
        kind = rng.choice(("leave", "like", "comment", "share", "follow", "order", "order"))
        if kind == "leave":
            out.append(ev(room, ts, kind, user, watch_ms=rng.randrange(1, 600_000)))
        elif kind == "order":
            out.append(ev(room, ts, kind, user, amount=round(rng.uniform(1, 500), 2),
                          status=rng.choice(("paid", "paid", "refunded", "created"))))
        else:
            out.append(ev(room, ts, kind, user))
    return out


TOPIC = {"enter": "views", "leave": "views", "order": "orders", "broadcast_start": "control"}


def by_topic(events: list, seed: int, control_first: bool = True) -> list:
    """The order a worker folds them in: each topic's events in order, the topics interleaved
    in runs of random length (a like can come before the viewer's entry, an entry before its
    broadcast's start)."""
    rng = random.Random(seed)
    queues: dict[str, list] = {}
    for e in events:
        queues.setdefault(TOPIC.get(e.type, "interactions"), []).append(e)
    out = queues.pop("control") if control_first else []
    while queues:
        name = rng.choice(sorted(queues))
        q = queues[name]
        run = rng.randrange(1, 60)
        out += q[:run]
        del q[:run]
        if not q:
            del queues[name]
    return out


class FakeRedis:
    """What the apply does with the extra hashes: add every increment."""

    def __init__(self) -> None:
        self.h: dict[str, dict[str, int]] = {}

    def apply(self, extra: dict[str, dict[str, int]]) -> None:
        for key, counts in extra.items():
            into = self.h.setdefault(key, {})
            for f, n in counts.items():
                into[f] = into.get(f, 0) + n

    def load(self, tracker: AudienceTracker, room: str, bstart: int) -> None:
        def read(key: str) -> dict[str, str]:
            return {f: str(v) for f, v in self.h.get(key, {}).items()}

        tracker.put(room, decode_room(bstart, read(KEYS.audience_users(room, bstart)),
                                      read(KEYS.audience_groups(room, bstart)),
                                      read(KEYS.audience_pending(room, bstart))))

    def minutes(self, room: str, bstart: int = T0) -> list[dict]:
        pre = KEYS.audience_minute(room, 0)[:-1]
        groups = {f: str(n) for f, n in self.h.get(KEYS.audience_groups(room, bstart),
                                                   {}).items()}
        return [{"audience": parse_minute({f: str(n) for f, n in h.items()}, groups)}
                for k, h in sorted(self.h.items()) if k.startswith(pre)]


def tracker(**kw) -> AudienceTracker:
    args = {"max_users_per_room": 10_000, "max_users": 100_000, "max_regions": 64,
            "max_age_bands": 16} | kw
    return AudienceTracker(KEYS, **args)


def run(events: list, batch: int, restart_every: int = 0, **kw) -> FakeRedis:
    redis, t = FakeRedis(), tracker(**kw)
    starts: dict[str, int] = {}
    for n, i in enumerate(range(0, len(events), batch)):
        part = events[i:i + batch]
        if restart_every and n % restart_every == 0:
            t = tracker(**kw)  # a new worker: nothing in memory
        for e in part:
            if e.type == "broadcast_start":
                starts.setdefault(e.room_id, 0)
        for room in t.missing(part):
            redis.load(t, room, starts.get(room, 0))
        extra: dict[str, dict[str, int]] = {}
        minutes: dict[str, dict[str, int]] = {}
        t.fold(part, extra, minutes)
        redis.apply(extra)
        redis.apply(minutes)
        for e in part:
            if e.type == "broadcast_start":
                starts[e.room_id] = max(starts[e.room_id], e.ts)
    return redis


def oracle(events: list, room: str) -> dict:
    a = Audience()
    for e in events:
        if e.room_id == room and e.user_id is not None:
            a.add(dict(vars(e)))
    return {"regions": a.regions(), "age_bands": a.age_bands(),
            "source_conversion": a.sources()}


def test_batches_and_restarts_give_the_recording_paths_rows() -> None:
    events = traffic(7)
    # ghosts act but never enter: neither path attributes them
    want = {r: oracle(events, r) for r in ("r0", "r1")}
    assert want["r0"]["regions"] and want["r0"]["age_bands"]
    skewed = by_topic(events, 3)
    first = {}
    for e in skewed:
        first.setdefault(e.user_id, e.type)
    assert sum(1 for k in first.values() if k != "enter") > 50  # acts before entering
    late_start = by_topic(events, 4, control_first=False)
    assert late_start[0].type != "broadcast_start"
    for order, batch, restart in ((events, len(events), 0), (events, 1, 0), (skewed, 97, 0),
                                  (skewed, 97, 3), (skewed, 13, 1), (skewed, 500, 2),
                                  (late_start, 97, 0), (late_start, 41, 2)):
        redis = run(order, batch, restart)
        for room in ("r0", "r1"):
            got = from_minutes(redis.minutes(room))
            assert got.pop("audience_untracked") == 0
            assert got == want[room], (events.index(order[0]), batch, restart, room)


def test_a_new_broadcast_makes_every_viewer_new_again() -> None:
    first = [ev("r", T0, "broadcast_start"), ev("r", T0 + 1, "enter", "u1", region="广东"),
             ev("r", T0 + 2, "like", "u1")]
    again = T0 + 3_600_000
    second = [ev("r", again, "broadcast_start"),
              ev("r", again + 1, "enter", "u1", region="浙江"), ev("r", again + 2, "like", "u1")]
    redis = run(first + second, 2)
    later = [m for m in redis.minutes("r", again) if "浙江" in m["audience"].get("r", {})]
    assert later == [{"audience": {
        "r": {"浙江": {"uv": 1, "en": 1, "iu": 1}}, "a": {"": {"uv": 1, "en": 1, "iu": 1}},
        "s": {"other": {"uv": 1, "en": 1, "iu": 1}}}}]
    assert set(redis.h) >= {KEYS.audience_users("r", T0), KEYS.audience_users("r", again)}


def test_bounds_count_what_they_do_not_attribute() -> None:
    events = [ev("r", T0, "broadcast_start")] + [
        ev("r", T0 + i, "enter", f"u{i}", region=f"region-{i}") for i in range(1, 8)]
    t = tracker(max_users_per_room=5, max_regions=3)
    t.put("r", RoomAudience(0))
    extra: dict[str, dict[str, int]] = {}
    minutes: dict[str, dict[str, int]] = {}
    t.fold(events, extra, minutes)
    groups = {f: str(n) for f, n in extra[KEYS.audience_groups("r", T0)].items()}
    minute = parse_minute({f: str(n) for f, n in minutes[KEYS.audience_minute("r", T0)].items()},
                          groups)
    assert minute["x"] == {"": {"uv": 2, "en": 2}} and t.untracked == 2
    assert minute["r"] == {"region-1": {"uv": 1, "en": 1}, "region-2": {"uv": 1, "en": 1},
                           "region-3": {"uv": 1, "en": 1}, OTHER: {"uv": 2, "en": 2}}
    assert len(t.rooms["r"].users) == 5 == t.total_users


def test_eviction_spares_the_coming_batch_and_the_one_in_flight() -> None:
    t = tracker(max_users=4)

    def batch(room: str) -> None:  # the worker's order: evict, load what is missing, fold
        t.evict({room})
        if room not in t.rooms:
            t.put(room, RoomAudience(0))
        t.fold([ev(room, T0, "enter", f"{room}1"), ev(room, T0, "enter", f"{room}2")], {}, {})

    batch("a")
    batch("b")
    assert t.total_users == 4 and t.untracked == 0
    batch("c")  # a was folded two batches back: dropped; b may still be in flight
    assert sorted(t.rooms) == ["b", "c"] and t.total_users == 4 and t.evicted == 1
    batch("b")  # c is in flight and b is coming: nothing can go, so b's new viewers wait
    assert sorted(t.rooms) == ["b", "c"] and t.untracked == 0  # b1, b2 are known already
    t.evict({"a"})
    assert sorted(t.rooms) == ["b"] and t.total_users == 2 and t.evicted == 2
    assert t.missing([ev("c", T0, "like", "c1")]) == {"c"}  # loaded again when it comes back
