"""What keeps a worker's KPIs and alerts from being current, as codes the console words.

While the broker or Redis is unreachable the KPI cards stop moving and the alerts' stream clock
holds (streams.alerting.runtime.StreamClock): no alert fires, and an operator reading the page
would take the frozen cards for calm rooms. The page shows a banner for each code
(`pipeline_<code>` in static/i18n.js).
"""

from __future__ import annotations

from typing import Any

KAFKA_DOWN, REDIS_DOWN, NOT_ASSIGNED = "kafka_down", "redis_down", "not_assigned"


def ingest_problems(engine: Any) -> list[str]:
    """Codes from the worker's KPI loop (streams.worker.engine.KpiEngine): its outages and
    whether it owns partitions yet. No I/O: the loop keeps these up to date."""
    out = []
    if getattr(engine, "broker", None) is not None and engine.broker.down:
        out.append(KAFKA_DOWN)
    if getattr(engine, "redis", None) is not None and engine.redis.down:
        out.append(REDIS_DOWN)
    assigned = getattr(engine, "assigned_once", None)
    if assigned is not None and not assigned.is_set():
        out.append(NOT_ASSIGNED)
    return out
