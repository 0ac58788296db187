"""prepare(): every message is folded, skipped as a duplicate or dead-lettered; pure logic."""

from __future__ import annotations

from collections import namedtuple

import orjson

from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder
from streams.worker.batch import prepare, rewarm
from streams.worker.dedup import PartitionMemory

Rec = namedtuple("Rec", "offset key value")
NOW = 1_800_000_000_000
GRACE = 120_000
TP = ("t.interactions", 0)


def like(eid: str, ts: int = NOW) -> bytes:
    return orjson.dumps({"type": "like", "event_id": eid, "room_id": "r", "ts": ts})


def records(values: list[bytes], start: int = 0) -> list[Rec]:
    return [Rec(start + i, b"r", v) for i, v in enumerate(values)]


def run(values: list[bytes], memory: PartitionMemory | None = None, start: int = 0):
    memory = memory or PartitionMemory(100)
    folder = BatchFolder(KpiSettings())
    return prepare([(TP, records(values, start))], memory, folder, GRACE, NOW), memory


def test_each_message_is_folded_skipped_or_dead_lettered() -> None:
    values = [like("a"), like("b"), like("a"), b"{broken", like("old", NOW - GRACE - 1),
              like("c", NOW - GRACE)]
    p, _ = run(values)
    assert p.delta.event_count == 3  # a, b, c (c is exactly at the grace limit: not late)
    assert p.counts[TP] == (6, 2, 1)  # consumed, dead-lettered, duplicates
    assert sorted(r.why.reason.value for r in p.rejected) == ["late", "not_json"]
    assert {r.offset for r in p.rejected} == {3, 4}
    assert p.rejected[0].value == b"{broken"
    assert p.offsets == {TP: 6}
    assert p.types == {"like": 3}


def test_duplicates_are_caught_across_batches_of_one_partition() -> None:
    _, memory = run([like("a"), like("b")])
    p2, _ = run([like("b"), like("c")], memory, start=2)
    assert p2.counts[TP] == (2, 0, 1)
    assert p2.delta.event_count == 1


def test_rewarm_rebuilds_the_memory_prepare_would_have() -> None:
    values = [like(f"e{i % 5}", NOW - 1000 * (i % 3)) for i in range(12)] + [b"x"]
    _, full = run(values)
    warm = PartitionMemory(100)
    rewarm(warm, TP, records(values), GRACE, NOW)
    assert warm.watermarks == full.watermarks
    assert [e in warm.ids(TP) for e in ("e0", "e4", "e9")] == [True, True, False]
    assert len(warm.ids(TP)) == len(full.ids(TP))


def test_prepare_matches_a_message_by_message_reference() -> None:
    """Random invalid, duplicate, late and out-of-order messages: the same verdicts as the
    obvious one-message-at-a-time loop (the definition), over several batches."""
    import random

    from schemas.decode import DeadLetter, decode
    from streams.worker.dedup import RecentIds

    rnd = random.Random(3)
    values = []
    for i in range(600):
        r = rnd.random()
        if r < 0.05:
            values.append(b"{broken")
        else:
            eid = f"e{rnd.randrange(400)}"  # repeats: duplicates inside and across batches
            values.append(like(eid, NOW - rnd.choice([0, 1000, 60_000, GRACE + 5_000, 400_000])
                               - rnd.randrange(0, 10_000) + i * 200))
    memory = PartitionMemory(50)
    got = []
    for start in range(0, len(values), 97):
        chunk = values[start:start + 97]
        p, _ = run(chunk, memory, start)
        rejected = {r.offset: r.why.reason.value for r in p.rejected}
        got += [rejected.get(start + i, "ok") for i in range(len(chunk))]
    ids, wm, want = RecentIds(50), None, []
    for v in values:
        ev = decode(v, now_ms=NOW)
        if isinstance(ev, DeadLetter):
            ids.skip()
            want.append(ev.reason.value)
        elif ids.seen(ev.event_id):
            want.append("ok")  # a duplicate is skipped, not dead-lettered
        elif wm is not None and ev.ts < wm - GRACE:
            want.append("late")
        else:
            wm = ev.ts if wm is None or ev.ts > wm else wm
            want.append("ok")
    assert got == want
    assert {"late", "not_json"} <= set(want)  # the random log really has both kinds
    assert memory.watermarks[TP] == wm
