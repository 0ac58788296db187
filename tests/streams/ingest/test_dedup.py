"""RecentIds: a bounded, position-defined window of event_ids."""

from __future__ import annotations

import pytest

from streams.ingest.dedup import PartitionMemory, RecentIds


def test_duplicate_inside_the_window_is_seen() -> None:
    mem = RecentIds(3)
    assert mem.seen("a") is False
    assert mem.seen("b") is False
    assert mem.seen("a") is True


def test_memory_is_bounded_and_forgets_the_oldest() -> None:
    mem = RecentIds(2)
    for eid in ("a", "b", "c"):
        mem.seen(eid)
    assert len(mem) == 2
    assert "a" not in mem
    assert mem.seen("a") is False


def test_a_repeated_id_stays_until_its_last_copy_leaves() -> None:
    mem = RecentIds(2)
    mem.seen("a")
    mem.seen("a")
    mem.seen("b")  # the first "a" leaves, the second stays
    assert "a" in mem
    mem.seen("c")
    assert "a" not in mem


def test_invalid_messages_take_a_place_in_the_window() -> None:
    mem = RecentIds(2)
    mem.seen("a")
    mem.skip()
    mem.skip()
    assert "a" not in mem


def test_rebuilding_from_the_last_n_messages_gives_the_same_memory() -> None:
    log = [f"e{i % 7}" for i in range(50)]
    full = RecentIds(5)
    for eid in log:
        full.seen(eid)
    rebuilt = RecentIds(5)
    for eid in log[-5:]:
        rebuilt.seen(eid)
    assert all((f"e{i}" in full) == (f"e{i}" in rebuilt) for i in range(7))


def test_partition_memory_keeps_partitions_apart_and_forgets() -> None:
    pm = PartitionMemory(10)
    pm.ids(("t", 0)).seen("x")
    pm.watermarks[("t", 0)] = 5
    assert "x" not in pm.ids(("t", 1))
    pm.forget(("t", 0))
    assert "x" not in pm.ids(("t", 0))
    assert ("t", 0) not in pm.watermarks


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RecentIds(0)


def _reference(size: int, log: list[str | None]) -> list[bool]:
    """The window by definition: a duplicate iff its id is among the previous `size` messages."""
    return [eid is not None and eid in log[max(0, i - size):i] for i, eid in enumerate(log)]


@pytest.mark.parametrize("size", [1, 2, 5, 17])
def test_mark_matches_the_definition_and_stays_bounded(size: int) -> None:
    import random

    rnd = random.Random(size)
    log = [None if rnd.random() < 0.1 else f"e{rnd.randrange(30)}" for _ in range(2_000)]
    mem = RecentIds(size)
    got: list[bool] = []
    for start in range(0, len(log), 7):  # uneven chunks, like fetched batches
        chunk = log[start:start + 7]
        dups = mem.mark(chunk)
        got += [i in dups for i in range(len(chunk))]
        assert len(mem._last) <= 2 * size + 7
    assert got == _reference(size, log)
