"""Positions.cut: after a crash on a Redis Cluster, a partition is re-read alone up to its cut."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition

from streams.worker.positions import Positions

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


@dataclass
class Rec:
    offset: int


def recs(first: int, last: int) -> list[Rec]:
    return [Rec(o) for o in range(first, last + 1)]


def test_no_cut_takes_everything() -> None:
    pos = Positions()
    batch = {A: recs(0, 9), B: recs(5, 7)}
    assert pos.cut(batch) == (batch, {})


def test_the_cut_partition_goes_alone_and_stops_before_the_cut() -> None:
    pos = Positions()
    pos.resume(("t", 0), 10, None, 0)
    pos.resume(("t", 1), 50, None, 0)
    pos.cuts[("t", 0)] = 15
    take, seek = pos.cut({A: recs(10, 19), B: recs(50, 52)})
    assert take == {A: recs(10, 14)}
    # A continues at its cut; B is fetched again from where it stands.
    assert seek == {A: 15, B: 50}


def test_a_short_batch_keeps_the_cut_until_a_batch_reaches_it() -> None:
    pos = Positions()
    pos.cuts[("t", 0)] = 15
    take, seek = pos.cut({A: recs(10, 12)})
    assert take == {A: recs(10, 12)} and seek == {}
    pos.passed(("t", 0), 13)
    assert pos.cuts == {("t", 0): 15}
    pos.passed(("t", 0), 15)
    assert pos.cuts == {}


def test_other_partitions_flow_while_the_cut_one_is_not_fetched() -> None:
    pos = Positions()
    pos.cuts[("t", 0)] = 15
    batch = {B: recs(0, 3)}
    assert pos.cut(batch) == (batch, {})


def test_records_all_past_the_cut_leave_nothing_to_process() -> None:
    pos = Positions()
    pos.cuts[("t", 0)] = 15
    take, seek = pos.cut({A: recs(15, 20)})
    assert take == {} and seek == {A: 15}


def test_forgetting_a_partition_drops_its_cut() -> None:
    pos = Positions()
    pos.cuts[("t", 0)] = 15
    pos.forget(("t", 0))
    assert pos.cuts == {}
