"""Turn a Delta into one apply payload (key names and string values) for Lua or the memory store."""

from __future__ import annotations

from itertools import chain
from typing import Any

from streams.kpi import keys as K
from streams.kpi.config import KpiSettings
from streams.kpi.fold import Delta
from streams.kpi.keys import Keys, offset_field


def build_ops(
    delta: Delta,
    offsets: dict[tuple[str, int], int],
    group: str,
    applied_at_ms: int,
    settings: KpiSettings,
    keys: Keys,
    expiry_cache: dict[str, int] | None = None,
    starts: dict[tuple[str, int], int] | None = None,
) -> dict[str, Any]:
    """The payload the apply script executes in one atomic step.

    Numbers the server only stores travel as strings (Lua would print big numbers as floats);
    each counter delta goes to its fine bucket and to the enclosing coarse bucket.

    `expiry_cache` (key -> wall ms until which its TTL is known to be set) lets a bucket's TTL be
    set on its first write only: later batches send TTL 0 (no EXPIRE), which saves one command
    per key per batch. `starts` (partition -> the offset the batch starts at, -1: no stored
    offset expected) makes the apply checked; without it, only stale or replayed batches are
    refused. `remember_ttls` fills the cache after a successful apply only, and an
    entry lapses a minute before the key could expire, so a key re-created after expiry (or
    first written by a failed or concurrent apply) always gets its TTL again.
    """
    cms = settings.coarse_ms
    fttl, cttl = settings.bucket_ttl_s, settings.coarse_ttl_s
    hashes: dict[str, dict[str, int]] = {}
    ttl_of: dict[str, int] = {}
    # Fine keys per room and bucket: the script keeps those in a broadcast's edge ranges longer.
    fine_keys: dict[str, dict[int, list[str]]] = {}

    def fine(room: str, bucket: int, key: str) -> None:
        fine_keys.setdefault(room, {}).setdefault(bucket, []).append(key)

    # A fine bucket hash is the fold's field dict of its (room, bucket) as it is, plus the
    # counters it added one event at a time: those go into a copy (an apply that is retried
    # builds its payload from the same Delta again).
    fine_fields = dict(delta.fields)
    copied: set[tuple[str, int]] = set()
    for (room, bucket, name), n in delta.counters.items():
        counts = fine_fields.get((room, bucket))
        if counts is None:
            fine_fields[(room, bucket)] = {name: n}
            copied.add((room, bucket))
            continue
        if (room, bucket) not in copied:
            counts = fine_fields[(room, bucket)] = dict(counts)
            copied.add((room, bucket))
        counts[name] = counts.get(name, 0) + n
    # A coarse bucket hash sums the fine ones it covers.
    coarse_fields: dict[tuple[str, int], dict[str, int]] = {}
    for (room, bucket), counts in fine_fields.items():
        key = keys.bucket(room, K.FINE, bucket)
        hashes[key], ttl_of[key] = counts, fttl
        fine(room, bucket, key)
        coarse = coarse_fields.get((room, bucket - bucket % cms))
        if coarse is None:
            coarse_fields[(room, bucket - bucket % cms)] = dict(counts)
        else:
            get = coarse.get
            for name, n in counts.items():
                coarse[name] = get(name, 0) + n
    for (room, bucket), coarse in coarse_fields.items():
        key = keys.bucket(room, K.COARSE, bucket)
        hashes[key], ttl_of[key] = coarse, cttl
    # The audience attribution's map and minute counters (streams.kpi.audience): written as
    # increments like the buckets, kept as long as coarse ones.
    for key, counts in delta.extra_hashes.items():
        hashes[key], ttl_of[key] = counts, cttl
    for key, counts in delta.extra_minutes.items():
        hashes[key], ttl_of[key] = counts, fttl
    hll: dict[str, set[str]] = {}
    for (room, bucket, kind), users in delta.members.items():
        for res, b, ttl in ((K.FINE, bucket, fttl), (K.COARSE, bucket - bucket % cms, cttl)):
            key = keys.hll(room, res, b, kind)
            hll.setdefault(key, set()).update(users)
            ttl_of[key] = ttl
            if res == K.FINE:
                fine(room, bucket, key)
    for (room, bucket, kind, pid), users in delta.product_members.items():
        for res, b, ttl in ((K.FINE, bucket, fttl), (K.COARSE, bucket - bucket % cms, cttl)):
            key = keys.product_hll(room, res, b, kind, pid)
            hll.setdefault(key, set()).update(users)
            ttl_of[key] = ttl
            if res == K.FINE:
                fine(room, bucket, key)
    bms = settings.bucket_ms
    buys = []
    for ts, room, user, brand in delta.purchases:
        b = ts - ts % bms
        cb = b - b % cms
        buys.append([
            ts, str(ts), user, brand, keys.state(room), room,
            keys.hll(room, K.FINE, b, K.HLL_REPEAT_7D),
            keys.hll(room, K.COARSE, cb, K.HLL_REPEAT_7D),
            keys.hll(room, K.FINE, b, K.HLL_REPEAT_30D),
            keys.hll(room, K.COARSE, cb, K.HLL_REPEAT_30D),
        ])
    states = []
    for room in sorted(delta.rooms):
        ctl = delta.control.get(room)
        stamped = []
        if ctl is not None:
            for stamp, (ts, values) in sorted(ctl.stamped.items()):
                flat = [stamp + "_ts", str(ts)]
                for f, v in values.items():
                    flat += [f, v]
                stamped.append(flat)
        states.append([
            keys.state(room), str(delta.first_ms[room]), str(delta.last_ms[room]),
            delta.platform.get(room, ""),
            str(ctl.broadcast_start) if ctl and ctl.broadcast_start is not None else "",
            str(ctl.broadcast_end) if ctl and ctl.broadcast_end is not None else "",
            stamped, keys.room(room),
        ])
    if expiry_cache is not None:
        for key in ttl_of:
            if expiry_cache.get(key, 0) > applied_at_ms:
                ttl_of[key] = 0
    # The stream clock moves by the batch's robust candidate, never by its single newest event.
    clock = delta.clock_ms if delta.clock_ms is not None else delta.max_event_ms
    names: dict[str, list[str]] = {}
    for (room, pid), name in delta.product_names.items():
        names.setdefault(keys.product_names(room), []).extend((pid, name))
    return {
        "n": delta.event_count,
        "off": [keys.offsets(group),
                [x for (t, p), o in sorted(offsets.items())
                 for x in (offset_field(t, p),
                           "" if starts is None else str(starts.get((t, p), -1)), str(o))]],
        "h": [[k, ttl_of[k], list(chain.from_iterable(zip(v, map(str, v.values()), strict=True)))]
              for k, v in hashes.items()],
        "p": [[k, ttl_of[k], list(v)] for k, v in hll.items()],
        "buy": buys,
        "win7": 7 * 86_400_000, "win30": 30 * 86_400_000,
        "hist_ms": settings.buyer_history_ms, "hist_ttl": settings.buyer_history_ms // 1000,
        "buy_pre": keys.buyers_prefix, "fttl": fttl, "cttl": cttl,
        "pur_pre": keys.purchases_prefix, "kp": keys.prefix, "max_pur": K.MAX_PURCHASES,
        "st": states,
        "fe": [[keys.state(room), [[str(b), *in_b] for b, in_b in sorted(buckets.items())]]
               for room, buckets in sorted(fine_keys.items())],
        "cms": cms, "bms": settings.bucket_ms,
        "edges": [e * 1000 for e in settings.anchored_edges_s],
        "rk": list(K.ROOM_HLLS), "pk": list(K.PRODUCT_HLLS),
        "pn": [[k, v] for k, v in names.items()],
        "room_ttl": settings.room_ttl_s,
        "rooms": [keys.live_rooms, sorted(delta.rooms),
                  str(applied_at_ms - settings.room_ttl_s * 1000)],
        "clk": [keys.clock, "" if clock is None else str(clock), str(applied_at_ms)],
    }


def remember_ttls(ops: dict[str, Any], expiry_cache: dict[str, int], applied_at_ms: int) -> None:
    """After a successful apply: the keys whose TTL it set need no EXPIRE for a while."""
    for key, ttl, _ in (*ops["h"], *ops["p"]):
        if ttl:
            expiry_cache[key] = applied_at_ms + (ttl - 60) * 1000
