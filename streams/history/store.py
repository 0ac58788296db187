"""HistoryStore: per-minute rows and broadcast summaries in SQLite or PostgreSQL.

Two tables. Rows are JSON text (the dicts of streams.history.snapshot), so both engines give
back byte-identical data and a report made from either is the same. Keys are plain columns for
lookups and retention. A key added to the rows later (the host on air, the pin's role) needs no
migration on either engine: rows written before it read it as None.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from streams.history.db import Db, connect
from streams.history.settings import HistorySettings
from streams.history.snapshot import MINUTE_MS, STATE_KEYS

DAY_MS = 86_400_000
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS roompulse_minutes (
        room_id TEXT NOT NULL, minute_ms BIGINT NOT NULL, broadcast_id TEXT NOT NULL,
        data TEXT NOT NULL, PRIMARY KEY (room_id, minute_ms))""",
    """CREATE INDEX IF NOT EXISTS roompulse_minutes_broadcast
        ON roompulse_minutes (broadcast_id, minute_ms)""",
    """CREATE TABLE IF NOT EXISTS roompulse_broadcasts (
        broadcast_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, brand_id TEXT,
        start_ms BIGINT NOT NULL, end_ms BIGINT, day TEXT NOT NULL, summary TEXT NOT NULL,
        updated_ms BIGINT NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS roompulse_broadcasts_room_day
        ON roompulse_broadcasts (room_id, day)""",
)
UPSERT_MINUTE = """INSERT INTO roompulse_minutes (room_id, minute_ms, broadcast_id, data)
    VALUES (?, ?, ?, ?) ON CONFLICT (room_id, minute_ms)
    DO UPDATE SET broadcast_id = excluded.broadcast_id, data = excluded.data"""
UPSERT_BROADCAST = """INSERT INTO roompulse_broadcasts
    (broadcast_id, room_id, brand_id, start_ms, end_ms, day, summary, updated_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (broadcast_id)
    DO UPDATE SET brand_id = excluded.brand_id, end_ms = excluded.end_ms,
    summary = excluded.summary, updated_ms = excluded.updated_ms"""
LIST_COLUMNS = "broadcast_id, room_id, brand_id, start_ms, end_ms, day, updated_ms"


def _json(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()


class HistoryStore:
    """Synchronous (DB-API); the worker calls it from one dedicated thread."""

    def __init__(self, db: Db, timezone: str = "Asia/Shanghai") -> None:
        self.db = db
        self.zone = ZoneInfo(timezone)
        for sql in SCHEMA:
            self.db.execute(sql)

    @classmethod
    def open(cls, settings: HistorySettings | None = None) -> HistoryStore:
        s = settings or HistorySettings()
        url = s.url.get_secret_value() if s.url is not None else None
        return cls(connect(url, s.sqlite_path(), s.connect_timeout_s), s.timezone)

    def day_of(self, ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, self.zone).date().isoformat()

    # -- writes ---------------------------------------------------------------------------
    def save(self, summary: dict[str, Any] | None, minutes: list[dict[str, Any]],
             broadcast_id: str, room_id: str, updated_ms: int) -> None:
        """Minutes and (when given) the summary of one broadcast, in one transaction."""
        rows = [(room_id, m["minute_ms"], broadcast_id, _json(m)) for m in minutes]
        statements: list[tuple[str, list[tuple[Any, ...]]]] = [(UPSERT_MINUTE, list(rows))]
        if summary is not None:
            statements.append((UPSERT_BROADCAST, [(
                summary["broadcast_id"], summary["room_id"], summary.get("brand_id"),
                summary["start_ms"], summary.get("end_ms"), self.day_of(summary["start_ms"]),
                _json(summary), updated_ms)]))
        self.db.run(statements)

    def purge(self, now_ms: int, retention_days: int) -> int:
        """Delete what started before the retention horizon; returns the rows deleted."""
        cutoff = now_ms - retention_days * DAY_MS
        n = self.db.execute("DELETE FROM roompulse_minutes WHERE minute_ms < ?", (cutoff,))
        n += self.db.execute("DELETE FROM roompulse_broadcasts WHERE start_ms < ?", (cutoff,))
        return n

    # -- reads ----------------------------------------------------------------------------
    def broadcasts(self, room_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first."""
        sql = f"SELECT {LIST_COLUMNS} FROM roompulse_broadcasts"  # noqa: S608 - constants only
        params: tuple = ()
        if room_id is not None:
            sql += " WHERE room_id = ?"
            params = (room_id,)
        rows = self.db.query(sql + " ORDER BY start_ms DESC, broadcast_id LIMIT ?",
                             (*params, int(limit)))
        keys = [c.strip() for c in LIST_COLUMNS.split(",")]
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def between(self, first_day: str, last_day: str, *, room_id: str | None = None,
                brand_id: str | None = None) -> list[str]:
        """Ids of broadcasts that started on [first_day, last_day] (YYYY-MM-DD), oldest first,
        of one room or one brand."""
        col, value = ("room_id", room_id) if room_id is not None else ("brand_id", brand_id)
        if value is None:
            raise ValueError("between() needs room_id or brand_id")
        sql = (f"SELECT broadcast_id FROM roompulse_broadcasts WHERE {col} = ? "  # noqa: S608
               "AND day >= ? AND day <= ? ORDER BY start_ms, broadcast_id")  # col: a constant
        rows = self.db.query(sql, (value, first_day, last_day))
        return [r[0] for r in rows]

    def find(self, room_id: str, day: str) -> str | None:
        """The room's latest broadcast that started on `day` (YYYY-MM-DD, history's zone)."""
        rows = self.db.query("SELECT broadcast_id FROM roompulse_broadcasts WHERE room_id = ? "
                             "AND day = ? ORDER BY start_ms DESC LIMIT 1", (room_id, day))
        return rows[0][0] if rows else None

    def load(self, broadcast_id: str) -> dict[str, Any] | None:
        """{"summary", "minutes"} of one broadcast, minutes in time order."""
        rows = self.db.query("SELECT summary FROM roompulse_broadcasts WHERE broadcast_id = ?",
                             (broadcast_id,))
        if not rows:
            return None
        summary = orjson.loads(rows[0][0])
        minutes = self.db.query("SELECT data FROM roompulse_minutes WHERE broadcast_id = ? "
                                "ORDER BY minute_ms", (broadcast_id,))
        return {"summary": summary, "minutes": [orjson.loads(r[0]) for r in minutes]}

    def alerts_of(self, broadcast_id: str) -> list[dict[str, Any]]:
        """The alert timeline of the broadcast's stored summary ([] when none is stored)."""
        rows = self.db.query("SELECT summary FROM roompulse_broadcasts WHERE broadcast_id = ?",
                             (broadcast_id,))
        alerts = orjson.loads(rows[0][0]).get("alerts") if rows else None
        return alerts if isinstance(alerts, list) else []

    def sketched_hosts(self, broadcast_id: str, before_ms: int) -> list[str]:
        """Hosts whose sketches (streams.history.host_sketches) a restarted writer goes on
        counting: those the stored summary counted (`hosts_distinct`), and those of the minutes
        stored after that summary and before `before_ms` (from there on the writer merges the
        minutes again). Reads one summary and, when summaries are regular, no minute."""
        rows = self.db.query("SELECT summary FROM roompulse_broadcasts WHERE broadcast_id = ?",
                             (broadcast_id,))
        summary = orjson.loads(rows[0][0]) if rows else {}
        counted = summary.get("hosts_distinct")
        hosts = dict.fromkeys(map(str, counted)) if isinstance(counted, dict) else {}
        # the summary counted the hosts of the minutes its pass wrote: up to its minute
        since = int(summary.get("as_of_ms") or 0) - 2 * MINUTE_MS
        if since < before_ms:
            for (data,) in self.db.query(
                    "SELECT data FROM roompulse_minutes WHERE broadcast_id = ? AND minute_ms >= ? "
                    "AND minute_ms < ? ORDER BY minute_ms", (broadcast_id, since, before_ms)):
                hid = orjson.loads(data).get("host_id")
                if isinstance(hid, str):
                    hosts.setdefault(hid)
        return list(hosts)

    def minute_states(self, broadcast_id: str, since_ms: int) -> dict[int, dict[str, Any]]:
        """The state fields (STATE_KEYS) of the broadcast's stored minutes from `since_ms`; a
        row written before a key existed gives None for it."""
        rows = self.db.query("SELECT minute_ms, data FROM roompulse_minutes "
                             "WHERE broadcast_id = ? AND minute_ms >= ?", (broadcast_id, since_ms))
        out = {}
        for minute_ms, data in rows:
            row = orjson.loads(data)
            out[int(minute_ms)] = {k: row.get(k) for k in STATE_KEYS}
        return out

    def load_with_history(self, broadcast_id: str, n: int) -> dict[str, Any] | None:
        """`load`, plus `earlier`: the same room's `n` broadcasts before it, newest first."""
        data = self.load(broadcast_id)
        if data is None or n <= 0:
            return data
        s = data["summary"]
        rows = self.db.query("SELECT broadcast_id FROM roompulse_broadcasts WHERE room_id = ? "
                             "AND start_ms < ? ORDER BY start_ms DESC LIMIT ?",
                             (s["room_id"], s["start_ms"], int(n)))
        earlier = [self.load(r[0]) for r in rows]
        data["earlier"] = [d for d in earlier if d is not None]
        return data

    def close(self) -> None:
        self.db.close()
