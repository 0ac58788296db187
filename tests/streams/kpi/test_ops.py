"""Apply payload: fine + coarse targets, string values, TTL sent once per key, hash tags."""

from __future__ import annotations

from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.keys import Keys, offset_field, parse_offset_field
from streams.kpi.ops import build_ops, remember_ttls
from tests.streams.kpi.factory import T0, ev, order

S = KpiSettings()
K = Keys("rp")


def delta(*events):
    f = BatchFolder(S)
    for e in events:
        f.add(e)
    return f.take()


def test_counters_go_to_fine_and_coarse_buckets_as_strings():
    ops = build_ops(delta(ev("enter", 0), ev("enter", 15_000, user="u2")), {("t", 0): 2}, "g", 1,
                    S, K)
    h = {k: (ttl, dict(zip(f[::2], f[1::2], strict=True))) for k, ttl, f in ops["h"]}
    assert h[K.bucket("r1", "f", T0)] == (S.bucket_ttl_s, {"ent": "1", "s:other:ent": "1"})
    assert h[K.bucket("r1", "f", T0 + 10_000)][1]["ent"] == "1"
    assert h[K.bucket("r1", "c", T0)] == (S.coarse_ttl_s, {"ent": "2", "s:other:ent": "2"})
    p = {k: set(m) for k, _, m in ops["p"]}
    assert p[K.hll("r1", "c", T0, "uv")] == {"u1", "u2"}
    assert ops["off"] == [K.offsets("g"), ["t:0", "", "2"]]  # unchecked: no start given


def test_fine_and_coarse_hashes_sum_both_homes_of_a_counter_and_leave_the_delta_as_it_was():
    d = delta(ev("leave", 0, watch_ms=500), ev("leave", 1_000, user="u2", watch_ms=700),
              ev("leave", 12_000, user="u3", watch_ms=100), ev("like", 2_000, count=3),
              order(3_000, amount=2), order(13_000, amount=1.5))
    before = (dict(d.counters), {k: dict(v) for k, v in d.fields.items()})
    ops = build_ops(d, {}, "g", 1, S, K)
    assert (dict(d.counters), {k: dict(v) for k, v in d.fields.items()}) == before
    assert build_ops(d, {}, "g", 1, S, K) == ops  # a retried apply sends the same payload
    h = {k: dict(zip(f[::2], map(int, f[1::2]), strict=True)) for k, _, f in ops["h"]}
    assert h[K.bucket("r1", "f", T0)] == {"wms": 1200, "lv": 2, "lk": 3, "ord": 1, "gp": 200,
                                          "p:p1:ord": 1, "p:p1:gp": 200}
    assert h[K.bucket("r1", "f", T0 + 10_000)] == {"wms": 100, "lv": 1, "ord": 1, "gp": 150,
                                                   "p:p1:ord": 1, "p:p1:gp": 150}
    assert h[K.bucket("r1", "c", T0)] == {"wms": 1300, "lv": 3, "lk": 3, "ord": 2, "gp": 350,
                                          "p:p1:ord": 2, "p:p1:gp": 350}
    assert len(h) == 3


def test_ttl_sent_on_first_write_only_until_the_cache_lapses():
    cache: dict[str, int] = {}
    d = delta(order(0))
    first = build_ops(d, {}, "g", 1_000, S, K, cache)
    assert build_ops(d, {}, "g", 1_000, S, K, cache) == first  # not applied yet: TTLs again
    remember_ttls(first, cache, 1_000)
    again = build_ops(d, {}, "g", 2_000, S, K, cache)
    later = build_ops(d, {}, "g", 1_000 + S.bucket_ttl_s * 1000, S, K, cache)

    def ttl(ops, key):
        return {k: t for k, t, _ in ops["h"] + ops["p"]}[key]

    fine = K.bucket("r1", "f", T0)
    assert ttl(first, fine) == S.bucket_ttl_s and ttl(again, fine) == 0
    assert ttl(later, fine) == S.bucket_ttl_s  # fine TTL lapsed in the cache: sent again
    assert ttl(later, K.bucket("r1", "c", T0)) == 0  # coarse still cached


def test_every_room_key_carries_the_room_hash_tag():
    room = "weird:room}{x"
    for key in (K.bucket(room, "f", 1), K.hll(room, "c", 1, "uv"), K.state(room),
                K.product_hll(room, "f", 1, "ck", "p:1"), K.product_names(room)):
        assert key.startswith("rp:{weird:room}")  # Redis hashes up to the first '}'


def test_offset_fields_round_trip():
    assert parse_offset_field(offset_field("roompulse.views", 12)) == ("roompulse.views", 12)


def test_ttl_cache_is_bounded_and_forgetting_only_resends_expire():
    import asyncio

    from schemas.events import EVENT_ADAPTER
    from streams.kpi.config import KpiSettings
    from streams.kpi.fold import BatchFolder
    from streams.kpi.store_memory import InMemoryKpiStore

    settings = KpiSettings(ttl_cache_keys=5)
    store = InMemoryKpiStore(settings)
    now = 1_795_305_600_000

    async def run() -> None:
        for n in range(20):
            folder = BatchFolder(settings)
            folder.add(EVENT_ADAPTER.validate_python(
                {"type": "product_click", "event_id": f"e{n}", "room_id": "r1",
                 "ts": now + n * 60_000, "user_id": f"u{n}", "product_id": f"p{n}"},
                context={"now_ms": now + 10**9}))
            assert await store.apply(folder.take(), {("t", 0): n + 1}, "g", now)
            assert len(store._expiry_cache) <= 5 + 10  # cap plus at most one batch's keys
        snap = await store.room_kpis("r1", "30m", now + 19 * 60_000)
        assert snap.kpis["product_clicks"].value == 20

    asyncio.run(run())
