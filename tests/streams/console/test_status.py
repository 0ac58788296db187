"""ingest_problems: the KPI loop's own outage flags and assignment, as the console's codes."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

from streams.console.status import ingest_problems
from streams.worker.retry import Outage


def test_codes_follow_the_loops_outages_and_assignment():
    log = logging.getLogger("test")
    loop = SimpleNamespace(broker=Outage("Kafka broker", log), redis=Outage("Redis", log),
                           assigned_once=asyncio.Event())
    assert ingest_problems(loop) == ["not_assigned"]
    loop.assigned_once.set()
    assert ingest_problems(loop) == []
    loop.broker.failed(ConnectionError("cut"))
    loop.redis.failed(ConnectionError("cut"))
    assert ingest_problems(loop) == ["kafka_down", "redis_down"]
    loop.broker.ok()
    assert ingest_problems(loop) == ["redis_down"]
    assert ingest_problems(None) == []  # a console without a KPI loop (tests, tools)
