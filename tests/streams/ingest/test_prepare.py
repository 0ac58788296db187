"""prepare(): every message is folded, skipped as a duplicate or dead-lettered; pure logic."""

from __future__ import annotations

import orjson

from streams.ingest.prepare import prepare, rewarm
from streams.kpi.fold import BatchFolder
from tests.streams.ingest.harness import (
    GRACE,
    NOW,
    POLICY,
    SETTINGS,
    TP,
    like,
    new_state,
    records,
    run,
)


def test_each_message_is_folded_skipped_or_dead_lettered() -> None:
    values = [like("a"), like("b"), like("a"), b"{broken", like("late", NOW - GRACE - 1),
              like("c", NOW - GRACE)]
    p, _ = run(values)
    assert p.delta.event_count == 4  # a, b, late (applied all the same), c
    assert p.counts[TP] == (6, 1, 1)  # consumed, dead-lettered, duplicates
    assert [r.why.reason.value for r in p.rejected] == ["not_json"]
    assert p.rejected[0].value == b"{broken" and p.rejected[0].offset == 3
    assert p.offsets == {TP: 6}
    assert p.types == {"like": 4}


def test_two_late_events_in_one_slice_are_applied_and_counted() -> None:
    """Regression (issue 9, finding 1): two late events in one partition's slice crashed the
    worker with `'DeadLetter' object is not subscriptable`."""
    state = new_state()
    run([like(f"w{i}", NOW + i) for i in range(40)], state)  # sets the watermark at ~NOW
    p, _ = run([like("late1", NOW - 600_000), like("ok", NOW), like("late2", NOW - 300_000)],
               state, start=40)
    assert p.delta.event_count == 3 and not p.rejected
    assert [round(s) for s in sorted(p.late_s)] == [300, 600]  # behind the median watermark
    assert p.counts[TP] == (3, 0, 0)


def test_a_backlog_slice_spanning_minutes_counts_each_late_event_in_order() -> None:
    """A replayed backlog: a slice spanning minutes is judged against its own median; its older
    half is late (applied, counted with its lateness, in slice order), nothing is too old."""
    p, _ = run([like(f"e{i}", NOW + i * 30_000) for i in range(21)], now=NOW + 600_000)
    mid = NOW + 10 * 30_000
    late = [(mid - (NOW + i * 30_000)) / 1000 for i in range(21)
            if NOW + i * 30_000 < mid - GRACE]
    assert p.late_s == late and len(late) == 6  # 300 s .. 150 s behind, in order
    assert p.delta.event_count == 21 and not p.rejected and p.counts[TP] == (21, 0, 0)


def test_a_too_old_event_among_late_ones_is_the_only_dead_letter() -> None:
    state = new_state()
    run([like(f"w{i}", NOW + i) for i in range(40)], state)
    old = NOW - SETTINGS.too_old_ms - 1_000
    p, _ = run([like("late1", NOW - 600_000), like("old", old), like("ok", NOW),
                like("late2", NOW - 300_000)], state, start=40)
    assert [r.why.reason.value for r in p.rejected] == ["too_old"]
    assert p.rejected[0].offset == 41
    assert [round(s) for s in p.late_s] == [600, 300]
    assert p.delta.event_count == 3 and p.counts[TP] == (4, 1, 0)


def test_one_skewed_event_moves_neither_the_watermark_nor_the_clock() -> None:
    """Regression (issue 9, finding 2): in a replay of a past broadcast, one event an hour ahead
    of its neighbours made every later event late and moved every room's clock."""
    state = new_state()
    later = NOW + 7_200_000  # the replay runs two hours after the broadcast
    rooms = [f"room-{i}" for i in range(5)]
    first = [like(f"a{i}", NOW + i * 100, rooms[i % 5]) for i in range(50)]
    run(first, state, now=later)
    wm = state.watermarks.get(TP)
    skewed = [like("skew", NOW + 3_600_000, "room-0")]
    normal = [like(f"b{i}", NOW + 6_000 + i * 100, rooms[i % 5]) for i in range(20)]
    p2, _ = run(skewed + normal, state, start=50, now=later)
    assert not p2.rejected and not p2.late_s  # nothing after the skewed event is late
    assert state.watermarks.get(TP) < NOW + 60_000 and state.watermarks.get(TP) >= wm
    assert p2.delta.clock_ms < NOW + 60_000  # one room cannot drag the others' clock
    assert p2.delta.max_event_ms == NOW + 3_600_000


def test_events_older_than_retention_are_too_old() -> None:
    state = new_state()
    run([like(f"w{i}", NOW) for i in range(10)], state)
    old = NOW - SETTINGS.too_old_ms - 1
    p, _ = run([like("old", old), like("fine", NOW - SETTINGS.too_old_ms + 10_000)], state, 10)
    assert [r.why.reason.value for r in p.rejected] == ["too_old"]
    assert p.delta.event_count == 1


def test_ts_ahead_of_the_record_timestamp_is_future() -> None:
    p, _ = run([like("ahead", NOW + 301_000), like("ok", NOW + 299_000)], record_ts=NOW,
               now=NOW + 301_000)
    assert [r.why.reason.value for r in p.rejected] == ["future_ts"]
    assert "record timestamp" in p.rejected[0].why.detail


def test_ids_that_could_collide_in_redis_are_invalid_and_named() -> None:
    """Regression (issue 9, finding 4): `coll-a}:ph:...` addressed another room's keys."""
    bad_rooms = ["coll-a}:ph:f:1:ck:z", "a{b", "room-ok\n", "tab\there", "x" * 129, " lead"]
    p, _ = run([like(f"e{i}", room=r) for i, r in enumerate(bad_rooms)])
    assert [r.why.reason.value for r in p.rejected] == ["invalid"] * len(bad_rooms)
    assert all("room_id" in r.why.detail for r in p.rejected)
    ok_rooms = ["a:b", "直播间 1", "😀", "x" * 128]
    p, _ = run([like(f"e{i}", room=r) for i, r in enumerate(ok_rooms)])
    assert not p.rejected and p.delta.rooms == set(ok_rooms)


def test_rooms_beyond_the_cap_are_refused_and_products_beyond_it_pooled() -> None:
    state = new_state(rooms=2, products=2)
    p, _ = run([like("1", room="a"), like("2", room="b"), like("3", room="c"),
                like("4", room="a")], state)
    assert [r.why.reason.value for r in p.rejected] == ["room_limit"]
    assert p.refused_rooms == {"c"} and p.delta.rooms == {"a", "b"}
    clicks = [orjson.dumps({"type": "product_click", "event_id": f"k{i}", "room_id": "a",
                            "ts": NOW, "product_id": f"p{i}"}) for i in range(4)]
    p, _ = run(clicks, state, start=4)
    pids = {f for f in p.delta.fields[("a", NOW)] if f.startswith("p:")}
    assert pids == {"p:p0:clk", "p:p1:clk", "p:__other__:clk"}
    assert p.delta.counter("a", NOW, "pclk") == 4  # the room's total stays exact


def test_a_fold_that_raises_costs_one_message_only() -> None:
    state = new_state()
    folder = BatchFolder(SETTINGS, lambda room, pid: 1 / 0 if pid == "boom" else pid)

    def click(eid: str, pid: str) -> bytes:
        return orjson.dumps({"type": "product_click", "event_id": eid, "room_id": "r",
                             "ts": NOW, "product_id": pid})

    p = prepare([(TP, records([like("a"), click("b", "boom"), click("c", "fine")]))], state,
                folder, POLICY, NOW)
    assert [(r.offset, r.why.reason.value) for r in p.rejected] == [(1, "internal")]
    assert "ZeroDivisionError" in p.rejected[0].why.detail
    assert p.delta.event_count == 2 and p.counts[TP] == (3, 1, 0)


def test_duplicates_are_caught_across_batches_of_one_partition() -> None:
    _, state = run([like("a"), like("b")])
    p2, _ = run([like("b"), like("c")], state, start=2)
    assert p2.counts[TP] == (2, 0, 1)
    assert p2.delta.event_count == 1


def test_rewarm_rebuilds_the_memory_prepare_would_have() -> None:
    values = [like(f"e{i % 5}", NOW - 1000 * (i % 3)) for i in range(12)] + [b"x"]
    _, full = run(values)
    warm = new_state()
    rewarm(warm, TP, records(values), POLICY, NOW)
    assert warm.watermarks.snapshot() == full.watermarks.snapshot()
    assert [e in warm.ids.ids(TP) for e in ("e0", "e4", "e9")] == [True, True, False]
    assert len(warm.ids.ids(TP)) == len(full.ids.ids(TP))
