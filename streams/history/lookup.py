"""Find a broadcast in history for `roompulse report`, and save a report's data into history."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from streams.history.db import HistoryError
from streams.history.settings import HistorySettings
from streams.history.store import HistoryStore
from streams.report.compare import HISTORY_N
from streams.report.make import ReportError
from streams.report.weekly import week_of


def open_store(settings: HistorySettings | None = None) -> HistoryStore:
    try:
        return HistoryStore.open(settings)
    except HistoryError as exc:
        raise ReportError(str(exc)) from None


def data_from_history(*, broadcast: str | None = None, room: str | None = None,
                      date: str | None = None, settings: HistorySettings | None = None
                      ) -> dict[str, Any]:
    """By id, or the room's broadcast that started on `date` (YYYY-MM-DD)."""
    store = open_store(settings)
    try:
        if broadcast is None:
            if not room or not date:
                raise ReportError("--date needs --room (or give --broadcast ID)")
            broadcast = store.find(room, date)
            if broadcast is None:
                raise ReportError(f"no broadcast of room {room!r} started on {date} in history")
        data = store.load_with_history(broadcast, HISTORY_N)
        if data is None:
            raise ReportError(f"no broadcast {broadcast!r} in history")
        return data
    except HistoryError as exc:
        raise ReportError(str(exc)) from None
    finally:
        store.close()


def weekly_from_history(day: str, *, room: str | None = None, brand: str | None = None,
                        settings: HistorySettings | None = None) -> tuple[list[dict], date, date]:
    """The data of every broadcast of the ISO week holding `day`, of one room or one brand."""
    if (room is None) == (brand is None):
        raise ReportError("--week needs --room or --brand (one of them)")
    try:
        first, last = week_of(date.fromisoformat(day))
    except ValueError:
        raise ReportError(f"--week {day!r}: give a date as YYYY-MM-DD") from None
    store = open_store(settings)
    try:
        ids = store.between(first.isoformat(), last.isoformat(), room_id=room, brand_id=brand)
        found = [store.load(i) for i in ids]
    except HistoryError as exc:
        raise ReportError(str(exc)) from None
    finally:
        store.close()
    if not ids:
        who = f"room {room!r}" if room else f"brand {brand!r}"
        raise ReportError(f"no broadcast of {who} in the week {first} – {last} in history")
    return [d for d in found if d is not None], first, last


def save_data(store: HistoryStore, data: dict[str, Any]) -> str:
    """Write a report's data (summary and minutes) as the live writer would; returns its id."""
    s = data["summary"]
    store.save(s, data["minutes"], s["broadcast_id"], s["room_id"], int(time.time() * 1000))
    return s["broadcast_id"]
