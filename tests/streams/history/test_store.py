"""HistoryStore on SQLite and on a real PostgreSQL: the same data back, the same reports."""

from __future__ import annotations

import copy

import pytest

from alerts.targets import Targets
from streams.history.db import HistoryError, connect
from streams.history.lookup import save_data
from streams.history.store import DAY_MS
from streams.report.make import render, report_from_data


def test_saved_broadcast_loads_back_identically(history, recorded_data):
    bid = save_data(history, recorded_data)
    assert bid == "room-1@1767225600000"
    loaded = history.load(bid)
    assert loaded == recorded_data
    targets = Targets.load()
    for fmt in ("json", "html", "md"):
        assert render(report_from_data(loaded, targets), fmt) == \
            render(report_from_data(recorded_data, targets), fmt)


def test_save_is_an_upsert(history, recorded_data):
    save_data(history, recorded_data)
    changed = copy.deepcopy(recorded_data)
    changed["minutes"][0]["gmv"] = 12345.5
    changed["summary"]["end_ms"] = 1
    save_data(history, changed)
    loaded = history.load("room-1@1767225600000")
    assert len(loaded["minutes"]) == len(recorded_data["minutes"])
    assert loaded["minutes"][0]["gmv"] == 12345.5 and loaded["summary"]["end_ms"] == 1
    assert len(history.broadcasts()) == 1


def _summary(room: str, start_ms: int) -> dict:
    return {"broadcast_id": f"{room}@{start_ms}", "room_id": room, "brand_id": None,
            "start_ms": start_ms, "end_ms": start_ms + 3_600_000, "room": {}}


def test_list_find_by_local_date_and_retention(history):
    day = 1_767_225_600_000  # 2026-01-01T00:00Z = 08:00 in Asia/Shanghai
    late = day + 17 * 3_600_000  # 2026-01-01T17:00Z = 2026-01-02 01:00 in Shanghai
    for room, start in (("room-1", day), ("room-1", late), ("room-2", day - 500 * DAY_MS)):
        minute = {"minute_ms": start, "online": 1}
        history.save(_summary(room, start), [minute], f"{room}@{start}", room, start)
    assert [b["broadcast_id"] for b in history.broadcasts()] == \
        [f"room-1@{late}", f"room-1@{day}", f"room-2@{day - 500 * DAY_MS}"]
    assert [b["day"] for b in history.broadcasts("room-1")] == ["2026-01-02", "2026-01-01"]
    assert history.find("room-1", "2026-01-01") == f"room-1@{day}"
    assert history.find("room-1", "2026-01-02") == f"room-1@{late}"
    assert history.find("room-1", "2026-01-03") is None
    assert history.purge(day, retention_days=400) == 2  # room-2's minute and broadcast
    assert [b["room_id"] for b in history.broadcasts()] == ["room-1", "room-1"]
    assert history.load(f"room-1@{day}")["minutes"] == [{"minute_ms": day, "online": 1}]


def test_a_restarted_writer_counts_the_hosts_of_the_summary_and_of_the_minutes_after_it(
        history):
    start, m = 1_767_225_600_000, 60_000
    bid = f"room-1@{start}"
    hosts = ["a"] * 6 + ["b"] * 7 + [None] + ["c"] * 6  # minutes 0-19
    rows = [{"minute_ms": start + i * m, "host_id": h} for i, h in enumerate(hosts)]
    history.save(None, rows, bid, "room-1", start)
    assert history.sketched_hosts(bid, start + 14 * m) == ["a", "b"]  # no summary: the minutes
    # a summary at minute 10 counted a and b; from minute 15 the writer merges again
    summary = {**_summary("room-1", start), "as_of_ms": start + 10 * m + 5,
               "hosts_distinct": {"a": {"uv": 3}, "b": {"uv": 2}}}
    history.save(summary, [], bid, "room-1", start)
    assert history.sketched_hosts(bid, start + 15 * m) == ["a", "b", "c"]
    history.db.execute("DELETE FROM roompulse_minutes WHERE minute_ms < ?", (start + 8 * m,))
    assert history.sketched_hosts(bid, start + 8 * m) == ["a", "b"]  # the summary's alone
    assert history.sketched_hosts("room-1@1", start) == []


def test_unknown_scheme_is_not_retryable(tmp_path):
    with pytest.raises(HistoryError) as err:
        connect("mysql://u:pw@h/db", tmp_path / "x")
    assert not err.value.retryable and "pw" not in str(err.value)


def test_unreachable_postgres_is_retryable_and_keeps_the_password_out(tmp_path):
    pytest.importorskip("psycopg")
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HistoryError) as err:
        connect(f"postgresql://rp:s3cret-pw@127.0.0.1:{port}/db", tmp_path / "x", 2)
    assert err.value.retryable
    assert "s3cret-pw" not in str(err.value) and f"127.0.0.1:{port}/db" in str(err.value)


def test_unwritable_sqlite_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HistoryError) as err:
        connect(None, blocker / "history.sqlite3")
    assert "cannot open history" in str(err.value) and not err.value.retryable
