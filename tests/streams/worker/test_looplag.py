"""The loop-lag histogram and the stall watchdog, on a real event loop blocked on purpose."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from prometheus_client import CollectorRegistry

from streams.worker.looplag import LoopLag


def _count(registry: CollectorRegistry, name: str) -> float:
    return registry.get_sample_value(name) or 0.0


async def test_a_blocked_loop_is_measured_and_its_stack_logged(caplog) -> None:
    registry = CollectorRegistry()
    lag = LoopLag(registry, interval_s=0.02, stall_s=0.1)
    task = asyncio.create_task(lag.run())
    await asyncio.sleep(0.1)  # a few calm ticks
    caplog.set_level(logging.WARNING, logger="streams.worker.looplag")

    def hog_the_loop() -> None:
        time.sleep(0.4)  # synchronous: nothing else on the loop runs meanwhile

    hog_the_loop()
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The tick that slept through the hog woke ~0.38 s late: it lands above the 0.25 s bucket.
    assert _count(registry, "roompulse_worker_loop_lag_seconds_count") >= 3
    above = (_count(registry, "roompulse_worker_loop_lag_seconds_count")
             - registry.get_sample_value("roompulse_worker_loop_lag_seconds_bucket",
                                         {"le": "0.25"}))
    assert above == 1
    assert _count(registry, "roompulse_worker_loop_stalls_total") == 1
    (line,) = [r.getMessage() for r in caplog.records if "event loop blocked" in r.getMessage()]
    assert "hog_the_loop" in line  # the culprit is named


async def test_a_calm_loop_has_no_stalls() -> None:
    registry = CollectorRegistry()
    lag = LoopLag(registry, interval_s=0.01, stall_s=1.0)
    task = asyncio.create_task(lag.run())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _count(registry, "roompulse_worker_loop_lag_seconds_count") >= 10
    assert _count(registry, "roompulse_worker_loop_stalls_total") == 0
