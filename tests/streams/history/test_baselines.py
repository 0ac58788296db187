"""HistoryBaselineReader on SQLite and PostgreSQL: a KPI at the same broadcast minute of a room's
earlier broadcasts, from the minute rows, equal to what the live store read then."""

from __future__ import annotations

import dataclasses

import pytest

from schemas.kpis import RoomKpi
from streams.history.baselines import HistoryBaselineReader
from streams.history.db import HistoryError
from streams.history.lookup import save_data
from streams.history.minute_kpis import (
    CENTS,
    DISTINCT,
    NOT_STORED,
    ONE_MINUTE_ONLY,
    ONLINE,
    SUMMED,
    computable,
    minute_span,
)
from streams.history.settings import HistorySettings
from streams.history.snapshot import MINUTE_COUNTS, MINUTE_MS
from streams.kpi.aggregates import RoomAgg
from streams.kpi.formulas import ROOM_FORMULAS
from streams.kpi.store_memory import InMemoryKpiStore
from streams.report.recording import collect
from streams.simulator import record
from tests.streams.report.conftest import sim_config

START = 1_767_225_600_000
DAY = 86_400_000
# Every KPI minute rows can make over any whole-minute window, and the one-minute ones.
WINDOWED = sorted(k.value for k in RoomKpi if k not in NOT_STORED | ONE_MINUTE_ONLY)


def test_minute_span():
    assert minute_span("5m", 20) == (16, 20)
    assert minute_span("5m", 5) == (1, 5)
    # the live window still reaches before the start during minute 4: not comparable yet
    assert minute_span("5m", 4) is None and minute_span("5m", 0) is None
    assert minute_span("1m", 7) == (7, 7) and minute_span("1m", 0) is None
    assert minute_span("1h", 70) == (11, 70)
    assert minute_span("first:10m", 25) == (0, 9) and minute_span("first:10m", 10) == (0, 9)
    assert minute_span("first:10m", 9) is None  # the live first 10 minutes are not over
    assert minute_span("broadcast", 9) is None  # mid-minute it holds less than 10 minutes
    assert minute_span("30s", 5) is None and minute_span("90s", 5) is None
    assert minute_span("5m", -1) is None and minute_span("nonsense", 5) is None


def test_every_row_field_is_read_and_the_kpi_sets_follow_the_formulas():
    handled = set(SUMMED) | set(DISTINCT) | set(CENTS) | {ONLINE}
    assert set(MINUTE_COUNTS.values()) | {"click_users"} == handled
    # A KPI is one-minute-only exactly when its formula reads a distinct count.
    base = RoomAgg(**{f.name: 1000 + i for i, f in enumerate(dataclasses.fields(RoomAgg))})
    others = [dataclasses.replace(base, **{a: getattr(base, a) * 3}) for a in DISTINCT.values()]
    reads_distinct = {k for k, f in ROOM_FORMULAS.items() if k not in NOT_STORED
                      and any(f(base).value != f(o).value for o in others)}
    assert reads_distinct == ONE_MINUTE_ONLY
    for kpi in ROOM_FORMULAS:
        assert computable(kpi, "1m") == (kpi not in NOT_STORED)
        assert computable(kpi, "5m") == (kpi not in NOT_STORED | ONE_MINUTE_ONLY)
    assert not computable("online_viewers", "first:10m") and computable("gmv", "first:10m")
    assert not computable("not_a_kpi", "1m")


@pytest.fixture(scope="module")
def past_broadcast(tmp_path_factory):
    """A 20-minute broadcast collected as history collects it, and the live store it came
    from (which still holds every bucket)."""
    path = tmp_path_factory.mktemp("baselines") / "past.jsonl"
    record(sim_config(rooms=1, duration_min=20, scenarios=(), bad_events=0, duplicates=0,
                      start_ms=START - DAY), path)
    import asyncio

    store = InMemoryKpiStore()
    got = asyncio.run(collect(path, "room-1", store=store))
    return got, store


async def test_same_minute_equals_the_live_window_read_at_that_minute(history,
                                                                       past_broadcast):
    got, live = past_broadcast
    save_data(history, {"summary": got.summary, "minutes": got.minutes})
    reader = HistoryBaselineReader(store=history)
    try:
        for window, kpis, first in (
                ("5m", WINDOWED, 5),
                ("first:10m", [k for k in WINDOWED if k != "online_viewers"], 10),
                ("1m", [k.value for k in RoomKpi if k not in NOT_STORED], 1)):
            for m in (0, 1, 4, 5, 10, 12, 19):
                now = START - DAY + (m + 1) * MINUTE_MS - 1  # the end of broadcast minute m
                snap = await live.room_kpis("room-1", window, now_ms=now)
                for kpi in kpis:
                    want = snap.kpis[kpi].value
                    past = await reader.same_minute("room-1", kpi, window, m, 5)
                    if m < first:  # the live window is not yet whole for all of minute m
                        assert past == [], (window, m, kpi)
                    else:
                        assert past == ([] if want is None else [pytest.approx(want)]), \
                            (window, m, kpi)
        assert await reader.same_minute("room-1", "entries", "5m", 20, 5) == []  # ended at 19
        assert await reader.same_minute("room-1", "uv", "5m", 10, 5) == []  # distinct over 5m
        assert await reader.same_minute("room-1", "shares", "1m", 10, 5) == []  # not stored
        assert await reader.same_minute("room-1", "entries", "30s", 10, 5) == []
        assert await reader.same_minute("room-1", "entries", "broadcast", 10, 5) == []
        assert await reader.same_minute("room-2", "entries", "5m", 10, 5) == []
    finally:
        await reader.close()


def _minutes(start: int, n: int, entries: int, exposures: int = 100) -> list[dict]:
    first = start - start % MINUTE_MS
    return [{"minute_ms": first + k * MINUTE_MS, "entries": entries, "exposures": exposures,
             "online": entries * (k + 1), "gmv": 1.5} for k in range(n)]


def _save(history, room: str, start: int, minutes: list[dict], ended: bool = True,
          length: int | None = None) -> None:
    bid = f"{room}@{start}"
    length = len(minutes) if length is None else length
    summary = {"broadcast_id": bid, "room_id": room, "start_ms": start,
               "end_ms": start + length * MINUTE_MS - 1 if ended else None}
    history.save(summary, minutes, bid, room, 0)


async def test_the_newest_finished_broadcasts_that_reached_the_minute_whole(history):
    # Broadcast i (a day apart, 30 s past the minute) has `entries` i in every minute.
    for i in range(1, 8):
        start = START + i * DAY + 30_000
        _save(history, "room-1", start, _minutes(start, 30, entries=i))
    short = START + 8 * DAY
    _save(history, "room-1", short, _minutes(short, 10, entries=80))  # ended at minute 9
    gap = START + 9 * DAY
    rows = _minutes(gap, 30, entries=90)
    del rows[18]  # the writer was down then
    _save(history, "room-1", gap, rows, length=30)
    live = START + 10 * DAY
    _save(history, "room-1", live, _minutes(live, 25, entries=100), ended=False)
    other = START + 11 * DAY
    _save(history, "room-2", other, _minutes(other, 30, entries=200))
    reader = HistoryBaselineReader(store=history)
    try:
        # newest first; the unfinished (live) one, the short one, the gappy one and other
        # rooms' are not history at minute 20
        assert await reader.same_minute("room-1", "entries", "5m", 20, 5) == [35, 30, 25, 20, 15]
        assert await reader.same_minute("room-1", "entries", "5m", 20, 2) == [35, 30]
        # the gap (minute 18) is outside a 1m window at minute 20, and minute 5 is in the short
        assert await reader.same_minute("room-1", "entries", "1m", 20, 3) == [90, 7, 6]
        assert await reader.same_minute("room-1", "entries", "1m", 5, 3) == [90, 80, 7]
        # a rate: sum(entries) / sum(exposures) over the window
        assert await reader.same_minute("room-1", "entry_rate", "5m", 20, 2) == [0.07, 0.06]
        assert await reader.same_minute("room-1", "gmv", "5m", 20, 1) == [7.5]
        # online viewers: the gauge at the end of the minute, not a sum
        assert await reader.same_minute("room-1", "online_viewers", "5m", 20, 1) == [147]
        # at minute 29 the gappy one has its window whole
        assert await reader.same_minute("room-1", "entries", "5m", 29, 9) == [450, 35, 30, 25,
                                                                              20, 15, 10, 5]
        assert await reader.same_minute("room-1", "entries", "5m", 30, 9) == []
    finally:
        await reader.close()


async def test_cached_per_minute_and_expired_so_a_newly_finished_broadcast_counts(history):
    t = [0.0]
    reader = HistoryBaselineReader(store=history, ttl_s=300, clock=lambda: t[0])
    for i in (1, 2):
        start = START + i * DAY
        _save(history, "room-1", start, _minutes(start, 30, entries=i))
    try:
        for _ in range(3):
            assert await reader.same_minute("room-1", "entries", "1m", 10, 5) == [2, 1]
        assert reader.reads == 1
        assert await reader.same_minute("room-1", "entries", "1m", 11, 5) == [2, 1]
        assert reader.reads == 2
        start = START + 3 * DAY
        _save(history, "room-1", start, _minutes(start, 30, entries=3))
        t[0] = 299.0
        assert await reader.same_minute("room-1", "entries", "1m", 10, 5) == [2, 1]
        t[0] = 301.0
        assert await reader.same_minute("room-1", "entries", "1m", 10, 5) == [3, 2, 1]
        assert reader.reads == 3
    finally:
        await reader.close()


async def test_the_cache_is_bounded(history):
    reader = HistoryBaselineReader(store=history, max_entries=3)
    try:
        for m in range(1, 11):
            await reader.same_minute("room-1", "entries", "1m", m, 5)
        assert len(reader._cache) == 3
        await reader.same_minute("room-1", "entries", "1m", 10, 5)
        assert reader.reads == 10  # the newest stayed
    finally:
        await reader.close()


async def test_an_unusable_history_fails_the_read_then_backs_off(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")  # the data directory is a file: the database cannot be opened
    t = [0.0]
    reader = HistoryBaselineReader(HistorySettings(dir=blocker), backoff_s=30,
                                   clock=lambda: t[0])
    try:
        with pytest.raises(HistoryError, match="cannot open history"):
            await reader.same_minute("room-1", "entries", "5m", 10, 5)
        with pytest.raises(HistoryError, match="backing off"):
            await reader.same_minute("room-1", "entries", "5m", 10, 5)
        assert reader.reads == 1
        blocker.unlink()
        blocker.mkdir()  # fixed: the next read after the back-off finds an empty history
        t[0] = 31.0
        assert await reader.same_minute("room-1", "entries", "5m", 10, 5) == []
        assert reader.reads == 2
    finally:
        await reader.close()
