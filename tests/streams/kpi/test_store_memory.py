"""InMemoryKpiStore (same read/apply code as Redis): windows, repurchase, state, offsets."""

from __future__ import annotations

from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.kpi.store_base import Outcome
from streams.kpi.store_memory import InMemoryKpiStore, run_sync
from tests.streams.kpi.factory import DAY, MIN, T0, ev, order

TP = ("t.views", 0)


class Harness:
    def __init__(self, **settings):
        self.store = InMemoryKpiStore(KpiSettings(**settings))
        self.folder = BatchFolder(self.store.settings)
        self.offset = 0

    def apply(self, *events):
        for e in events:
            self.folder.add(e)
        self.offset += len(events)
        return run_sync(self.store.apply(self.folder.take(), {TP: self.offset}, "g", 1))

    def kpis(self, window, now=None, room="r1"):
        snap = run_sync(self.store.room_kpis(room, window, now))
        return {k: v.value for k, v in snap.kpis.items()}, snap.info


def test_rolling_broadcast_and_first_windows():
    h = Harness()
    h.apply(ev("broadcast_start", 0, user=None),
            *[ev("enter", m * MIN, user=f"u{m}") for m in range(0, 40)],
            ev("leave", 39 * MIN, user="u0", watch_ms=1))
    now = T0 + 39 * MIN + 5_000
    one, info = h.kpis("1m")
    assert one["entries"] == 1 and one["uv"] == 1
    assert (info.start_ms, info.end_ms) == (now - 5_000 + 10_000 - MIN, now - 5_000 + 10_000)
    assert h.kpis("5m")[0]["entries"] == 5
    assert h.kpis("broadcast")[0]["uv"] == 40
    assert h.kpis("first:30m")[0]["entries"] == 30
    # Online viewers are broadcast-to-date whatever the window.
    assert one["online_viewers"] == 39
    # An explicit now_ms looks back in event time.
    assert h.kpis("5m", now=T0 + 4 * MIN)[0]["entries"] == 5


def test_long_broadcast_reads_coarse_buckets_for_old_parts():
    h = Harness()
    h.apply(ev("broadcast_start", 0, user=None), ev("enter", 1_000, user="a"),
            ev("enter", 11 * 3_600_000, user="b"), ev("enter", 12 * 3_600_000, user="c"))
    k, info = h.kpis("broadcast")
    assert k["entries"] == 3 and k["uv"] == 3
    assert info.start_ms == T0  # T0 is on a coarse boundary
    assert h.kpis("first:30m")[0]["entries"] == 1
    assert h.kpis("2h")[0]["entries"] == 2


def test_repurchase_within_7_and_30_days_same_brand_only():
    h = Harness()
    h.apply(ev("broadcast_start", 0, user=None, brand_id="B"),
            ev("broadcast_start", 0, room="r2", user=None, brand_id="B"),
            ev("broadcast_start", 0, room="r3", user=None, brand_id="OTHER"),
            order(0, user="w7"), order(0, user="w30"), order(0, user="old"), order(0, user="x"))
    h.apply(order(5 * DAY, user="w7", room="r2"),          # 5 days later, same brand, other room
            order(20 * DAY, user="w30"),                    # 20 days: 30d only
            order(40 * DAY, user="old"),                    # 40 days: neither
            order(6 * DAY, user="x", room="r3"),            # other brand: first purchase there
            order(41 * DAY, user="new"))
    k1, _ = h.kpis("broadcast", room="r1", now=T0 + 41 * DAY)
    assert k1["buyers"] == 5
    assert k1["repurchase_rate_30d"] == 1 / 5  # w30
    assert k1["repurchase_rate_7d"] == 0
    k2, _ = h.kpis("broadcast", room="r2", now=T0 + 41 * DAY)
    assert (k2["repurchase_rate_7d"], k2["repurchase_rate_30d"]) == (1.0, 1.0)
    k3, _ = h.kpis("broadcast", room="r3", now=T0 + 41 * DAY)
    assert k3["repurchase_rate_30d"] == 0
    # History is trimmed to 30 days before the newest purchase of the brand.
    hist = h.store.zsets[h.store.keys.buyers("B")]
    assert "x" not in hist and hist["old"] == T0 + 40 * DAY and "w7" not in hist


def test_second_purchase_in_the_same_batch_is_a_repurchase():
    h = Harness()
    h.apply(order(1_000, user="u"), order(2_000, user="u"), order(2_000, user="v"))
    k, _ = h.kpis("1m")
    assert k["buyers"] == 2 and k["repurchase_rate_7d"] == 0.5


def test_room_state_from_control_events():
    h = Harness()
    h.apply(ev("broadcast_start", 0, user=None, brand_id="b", platform="taobao"),
            ev("phase_change", 10, user=None, phase="live"),
            ev("product_pinned", 20, user=None, product_id="p1", product_name="Serum"),
            ev("broadcast_end", 30 * MIN, user=None))
    st = run_sync(h.store.room_state("r1"))
    assert (st.brand_id, st.platform, st.phase, st.pinned_product_name) == \
        ("b", "taobao", "live", "Serum")
    assert not st.live and st.broadcast_end_ms == T0 + 30 * MIN
    h.apply(ev("phase_change", 5, user=None, phase="warmup"),  # older than the stored one
            ev("broadcast_start", 60 * MIN, user=None))
    st = run_sync(h.store.room_state("r1"))
    assert st.live and st.phase == "live" and st.broadcast_start_ms == T0 + 60 * MIN
    assert [r.room_id for r in run_sync(h.store.rooms())] == ["r1"]
    assert run_sync(h.store.room_state("nope")) is None


def test_products_sorted_by_gmv_with_names_and_top_n():
    h = Harness(top_n_products=2)
    h.apply(ev("product_pinned", 0, user=None, product_id="b", product_name="Bee"),
            ev("product_click", 1, product_id="a"), order(2, product="b", amount=50),
            order(3, product="c", amount=20), ev("product_exposure", 4, product_id="a"))
    prods = run_sync(h.store.product_kpis("r1", "5m"))
    assert [(p.product_id, p.product_name) for p in prods] == [("b", "Bee"), ("c", None)]
    assert prods[0].kpis["gmv"].value == 50 and prods[0].kpis["buyers"].value == 1
    srcs = run_sync(h.store.source_kpis("r1", "5m"))
    assert srcs == []


def test_offsets_stored_with_the_batch_and_replays_refused():
    h = Harness()
    s = h.store
    assert run_sync(s.load_offsets("g")) == {}
    f = BatchFolder(s.settings)
    f.add(ev("enter", 0))
    d = f.take()
    assert run_sync(s.apply(d, {TP: 5, ("t.orders", 3): 7}, "g", 1)).outcome is Outcome.APPLIED
    assert run_sync(s.load_offsets("g")) == {TP: 5, ("t.orders", 3): 7}
    replay = run_sync(s.apply(d, {TP: 5, ("t.orders", 3): 7}, "g", 2))
    assert replay.outcome is Outcome.REPLAY and not replay
    assert run_sync(s.apply(d, {TP: 4}, "g", 3)).outcome is Outcome.MOVED  # stale writer
    assert h.kpis("1m")[0]["entries"] == 1
    assert run_sync(s.load_offsets("other")) == {}
    assert run_sync(s.stream_clock_ms()) == T0
