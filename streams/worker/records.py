"""The KPI loop's own consumer hands back aiokafka's C records, one list per record batch."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.consumer import fetcher as _fetcher
from aiokafka.errors import CorruptRecordException

log = logging.getLogger(__name__)
_UNCOMMITTED = 0  # aiokafka.consumer.fetcher.READ_UNCOMMITTED


def internals_present() -> bool:
    """Whether the aiokafka internals `RawRecordConsumer` relies on are all still there."""
    f = _fetcher
    return (getattr(f, "READ_UNCOMMITTED", None) == _UNCOMMITTED
            and all(hasattr(f.FetchResult, a) for a in
                    ("check_assignment", "has_more", "_update_position", "getall"))
            and {"_partition_records", "_topic_partition", "_assignment"}
            <= set(f.FetchResult.__init__.__code__.co_names)
            and {"_tp", "_records", "_check_crcs", "_isolation_level", "next_fetch_offset",
                 "_records_iterator"} <= set(f.PartitionRecords.__init__.__code__.co_names)
            and "getall" in f.Fetcher.fetched_records.__code__.co_names)


def _batches(pr: Any):
    """PartitionRecords._unpack_records for read_uncommitted, one list of C records per batch
    (the records are iterated in C; no ConsumerRecord is built)."""
    records = pr._records
    while records.has_next():
        batch = records.next_batch()
        if pr._check_crcs and not batch.validate_crc():
            raise CorruptRecordException(f"Invalid CRC - {pr._tp}")
        if batch.is_control_batch:
            pr.next_fetch_offset = batch.next_offset
            continue
        recs = list(batch)
        start = pr.next_fetch_offset
        if recs and recs[0].offset < start:  # a compressed message set fetched from its start
            recs = [r for r in recs if r.offset >= start]
        if recs:
            yield recs, batch.next_offset
        else:
            pr.next_fetch_offset = batch.next_offset


def _getall(result: Any, max_records: int | None = None) -> list:
    """FetchResult.getall with a Python step per record batch instead of per record."""
    if not result.check_assignment(result._topic_partition) or not result.has_more():
        return []
    pr = result._partition_records
    state = pr.__dict__
    out: list = []
    while True:
        held = state.pop("_raw_held", None)
        if held is None:
            held = next(state["_raw_batches"], None)
            if held is None:  # exhausted
                result._update_position()
                result._partition_records = None
                return out
        recs, after = held
        room = None if max_records is None else max_records - len(out)
        if room is not None and len(recs) > room:
            out += recs[:room]
            state["_raw_held"] = (recs[room:], after)
            pr.next_fetch_offset = out[-1].offset + 1
            result._update_position()
            return out
        out += recs
        pr.next_fetch_offset = after
        if room is not None and len(recs) == room:
            result._update_position()
            return out


class _RawResults(OrderedDict):
    """`Fetcher._records` of ONE fetcher: each partition result put in it gets `_getall`.

    aiokafka builds a pure-Python ConsumerRecord (11 fields, a headers tuple) for every record
    and hands records over one generator step at a time; the KPI loop reads only `offset`,
    `key` and `value`, which aiokafka's own C record already has. The override is set on each
    FetchResult / PartitionRecords INSTANCE this fetcher buffers, before anything reads it, so
    no other consumer in the process (Faust's) is affected.
    """

    def __setitem__(self, tp: Any, result: Any) -> None:
        if type(result) is _fetcher.FetchResult:
            pr = result._partition_records
            if pr is not None and pr._isolation_level == _UNCOMMITTED:
                pr._raw_batches = _batches(pr)
                pr._records_iterator = None  # aiokafka's per-record path must not run too
                result.getall = partial(_getall, result)
        super().__setitem__(tp, result)


class RawRecordConsumer(AIOKafkaConsumer):
    """An AIOKafkaConsumer whose getmany() returns aiokafka's C records (`offset`, `key`,
    `value`, `timestamp`, `headers`: raw bytes, no deserializers) instead of ConsumerRecords.

    Only getmany() is supported (getone() would see no records). Relies on aiokafka internals
    (version range pinned in pyproject.toml, checked by tests/streams/worker/test_records.py);
    if they are missing it logs a warning and behaves as a plain AIOKafkaConsumer.
    """

    async def start(self) -> None:
        await super().start()
        fetcher = getattr(self, "_fetcher", None)
        held = getattr(fetcher, "_records", None)
        if fetcher is None or not internals_present() or type(held) is not OrderedDict:
            log.warning("aiokafka internals changed: the KPI loop gets ConsumerRecords (slower)")
            return
        raw = _RawResults()
        for tp, result in held.items():  # anything buffered during start-up
            raw[tp] = result
        fetcher._records = raw

    async def log_starts(self, tps: list) -> dict:
        """The earliest retained offset of each partition ({} when the broker cannot say).

        Not seek_to_beginning(): it resets lazily and can rewind a partition whose first
        records were already fetched; asked for explicitly, records fetched before a re-seek
        (after a state loss) cannot pass as the start."""
        if not tps:
            return {}
        try:
            return await asyncio.wait_for(self.beginning_offsets(tps), 10)
        except Exception as exc:  # noqa: BLE001 - fall back to "wherever the log starts"
            log.warning("could not read the log start of %d partitions (%s); starting at the "
                        "first record fetched", len(tps), type(exc).__name__)
            return {}
