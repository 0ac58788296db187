"""A small DB-API layer: one connection to SQLite (stdlib) or PostgreSQL (psycopg 3).

Statements are written once with `?` placeholders and portable SQL (`INSERT ... ON CONFLICT ...
DO UPDATE`, BIGINT, TEXT), which both engines accept; PostgreSQL gets `%s` placeholders.
Every failure is a HistoryError that says whether trying again later may help.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


class HistoryError(Exception):
    """A history read or write failed; `retryable` when the database may come back."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def describe(url: str) -> str:
    """A URL without its credentials: scheme://host:port/database."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Db:
    """One connection. Not thread-safe: the history writer uses it from one thread only."""

    def __init__(self, conn: Any, dialect: str, where: str) -> None:
        self.conn, self.dialect, self.where = conn, dialect, where

    @classmethod
    def sqlite(cls, path: Path) -> Db:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
            # WAL: `roompulse report` reads while the worker writes, neither waits for the other
            conn.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open history at {path}: {exc}", retryable=False) from None
        return cls(conn, "sqlite", str(path))

    @classmethod
    def postgres(cls, url: str, connect_timeout_s: float = 10.0) -> Db:
        where = describe(url)
        try:
            import psycopg
        except ImportError:
            raise HistoryError("ROOMPULSE_HISTORY_URL names PostgreSQL but psycopg is not "
                               "installed (pip install 'roompulse[postgres]')", False) from None
        try:
            conn = psycopg.connect(url, connect_timeout=max(1, round(connect_timeout_s)))
        except psycopg.Error as exc:
            # psycopg's message names host and port, never the password
            raise HistoryError(f"cannot connect to {where}: {str(exc).strip()[:300]}",
                               retryable=True) from None
        return cls(conn, "postgres", where)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgres" else sql

    def _fail(self, exc: Exception) -> HistoryError:
        try:
            self.conn.rollback()
        except Exception as why:  # noqa: BLE001 - the connection itself may be gone
            log.debug("rollback failed: %s", why)
        retryable = isinstance(exc, sqlite3.OperationalError)
        if self.dialect == "postgres":
            import psycopg

            retryable = isinstance(exc, psycopg.OperationalError)
        return HistoryError(f"history at {self.where}: {type(exc).__name__}: "
                            f"{str(exc).strip()[:300]}", retryable)

    def run(self, statements: list[tuple[str, list[tuple]]]) -> None:
        """Each (sql, rows) with executemany, all in one transaction."""
        try:
            cur = self.conn.cursor()
            for sql, rows in statements:
                if rows:
                    cur.executemany(self._sql(sql), rows)
            self.conn.commit()
        except Exception as exc:  # noqa: BLE001 - every driver error becomes a HistoryError
            raise self._fail(exc) from None

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            cur = self.conn.cursor()
            cur.execute(self._sql(sql), params)
            rows = cur.fetchall()
            self.conn.commit()  # ends the read transaction (PostgreSQL opens one per query)
            return [tuple(r) for r in rows]
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc) from None

    def execute(self, sql: str, params: tuple = ()) -> int:
        """One statement, committed; returns the rows it changed."""
        try:
            cur = self.conn.cursor()
            cur.execute(self._sql(sql), params)
            self.conn.commit()
            return cur.rowcount
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc) from None

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception as why:  # noqa: BLE001 - closing a broken connection must not raise
            log.debug("close failed: %s", why)


def connect(url: str | None, sqlite_path: Path, connect_timeout_s: float = 10.0) -> Db:
    if not url:
        return Db.sqlite(sqlite_path)
    scheme = urlsplit(url).scheme
    if scheme in ("postgresql", "postgres"):
        return Db.postgres(url, connect_timeout_s)
    if scheme == "sqlite" and url.startswith("sqlite:///"):
        # as SQLAlchemy spells it: sqlite:///relative.db, sqlite:////absolute/path.db
        return Db.sqlite(Path(url[len("sqlite:///"):]))
    raise HistoryError(f"ROOMPULSE_HISTORY_URL: unsupported scheme {scheme!r} "
                       "(postgresql://... or sqlite:///path)", retryable=False)
