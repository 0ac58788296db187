"""Small fetches linger for more (streams.worker.linger): merging and when to stop asking."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from streams.worker.linger import fill, merge


class Rec(NamedTuple):
    offset: int


def recs(tp: str, lo: int, hi: int) -> dict[str, list[Rec]]:
    return {tp: [Rec(o) for o in range(lo, hi)]}


class Fetches:
    """Hands out prepared fetch results in order, then empty ones; records what was asked."""

    def __init__(self, *results: dict) -> None:
        self.results = list(results)
        self.asked: list[tuple[int, int]] = []

    async def __call__(self, timeout_ms: int, max_records: int) -> dict:
        self.asked.append((timeout_ms, max_records))
        if self.results:
            return self.results.pop(0)
        await asyncio.sleep(min(timeout_ms, 5) / 1000)
        return {}


def test_merge_appends_records_that_continue_each_partition() -> None:
    batch = {**recs("a", 0, 3), **recs("b", 10, 12)}
    assert merge(batch, {**recs("a", 3, 5), **recs("c", 0, 2)})
    assert [r.offset for r in batch["a"]] == [0, 1, 2, 3, 4]
    assert [r.offset for r in batch["b"]] == [10, 11]
    assert [r.offset for r in batch["c"]] == [0, 1]


def test_merge_refuses_a_fetch_that_goes_back_and_leaves_the_batch_as_it_was() -> None:
    batch = {**recs("a", 0, 3), **recs("b", 10, 12)}
    # b continues, but a starts again at 2 (a seek back): nothing of it is merged
    assert not merge(batch, {**recs("b", 12, 13), **recs("a", 2, 4)})
    assert [r.offset for r in batch["a"]] == [0, 1, 2]
    assert [r.offset for r in batch["b"]] == [10, 11]


def test_a_large_fetch_does_not_wait() -> None:
    fetch = Fetches(recs("a", 100, 200))
    out = asyncio.run(fill(recs("a", 0, 100), fetch, min_records=100, max_records=1000,
                           linger_ms=1000))
    assert len(out) == 1 and len(out[0]["a"]) == 100
    assert fetch.asked == []


def test_a_small_fetch_grows_until_it_holds_min_records() -> None:
    fetch = Fetches(recs("a", 10, 20), recs("b", 0, 30), recs("a", 20, 100))
    out = asyncio.run(fill(recs("a", 0, 10), fetch, min_records=60, max_records=1000,
                           linger_ms=60_000))
    assert len(out) == 1
    assert [r.offset for r in out[0]["a"]] == list(range(100))
    assert len(out[0]["b"]) == 30
    # three fetches, each asking for at most what keeps the batch under max_records
    assert [m for _, m in fetch.asked] == [990, 980, 950]


def test_lingering_ends_with_what_arrived_when_the_wait_is_over() -> None:
    fetch = Fetches(recs("a", 10, 15))
    out = asyncio.run(fill(recs("a", 0, 10), fetch, min_records=1000, max_records=5000,
                           linger_ms=30))
    assert len(out) == 1 and [r.offset for r in out[0]["a"]] == list(range(15))
    assert len(fetch.asked) >= 2  # it kept asking (empty answers) until the linger ran out


def test_a_fetch_that_does_not_continue_comes_back_as_its_own_batch() -> None:
    fetch = Fetches(recs("a", 5, 8), recs("b", 0, 2))
    out = asyncio.run(fill(recs("a", 0, 10), fetch, min_records=1000, max_records=5000,
                           linger_ms=60_000))
    assert [[r.offset for r in b["a"]] for b in out] == [list(range(10)), [5, 6, 7]]
    assert len(fetch.asked) == 1  # and lingering stopped there


def test_no_lingering_when_off_stopping_or_already_at_max_records() -> None:
    for kwargs in ({"linger_ms": 0}, {"max_records": 10}):
        fetch = Fetches(recs("a", 10, 20))
        args = {"min_records": 100, "max_records": 1000, "linger_ms": 1000, **kwargs}
        out = asyncio.run(fill(recs("a", 0, 10), fetch, **args))
        assert len(out) == 1 and len(out[0]["a"]) == 10 and fetch.asked == []
    fetch = Fetches(recs("a", 10, 20))
    out = asyncio.run(fill(recs("a", 0, 10), fetch, min_records=100, max_records=1000,
                           linger_ms=1000, stopping=lambda: True))
    assert len(out[0]["a"]) == 10 and fetch.asked == []
