"""History backends (SQLite in a temp dir, a real throwaway PostgreSQL) and a broadcast."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from streams.history.db import connect
from streams.history.store import HistoryStore
from streams.report.make import data_from_recording
from streams.simulator import record
from tests.streams.history import pg
from tests.streams.report.conftest import sim_config


@pytest.fixture(scope="session")
def postgres_url():
    reason = pg.missing()
    if reason:
        pytest.skip(reason)
    with pg.cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def history(request, tmp_path):
    """An empty HistoryStore on each backend (PostgreSQL: a fresh database per test)."""
    if request.param == "sqlite":
        store = HistoryStore(connect(None, tmp_path / "history.sqlite3"))
    else:
        import psycopg

        base = request.getfixturevalue("postgres_url")
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        store = HistoryStore(connect(base.rsplit("/", 1)[0] + "/" + name, tmp_path / "unused"))
    yield store
    store.close()


@pytest.fixture(scope="session")
def recorded(tmp_path_factory):
    """(recording path, truth) of a 90-minute, one-room broadcast."""
    path = tmp_path_factory.mktemp("history") / "broadcast.jsonl"
    truth = record(sim_config(rooms=1, duration_min=90, scenarios=()), path)
    return path, truth.to_json()


@pytest.fixture(scope="session")
def recorded_data(recorded):
    return asyncio.run(data_from_recording(recorded[0], "room-1", alerts=False))
