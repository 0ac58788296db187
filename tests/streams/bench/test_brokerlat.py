"""The broker-only latency probe against the real embedded broker: every marker it sends is read
back by the raw consumer, after the prefilled log was read to its end."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from streams.bench.brokerlat import measure
from streams.stack import Stack

pytestmark = pytest.mark.integration


def test_prefilled_log_is_read_then_every_marker_comes_back(stack: Stack) -> None:
    got = asyncio.run(measure(stack, prefill=3_000, rate=2_000, seconds=1.5, partitions=2))
    assert got["catch_up_events"] == 3_000
    assert got["markers"] >= 25  # one every 50 ms
    assert got["markers_read"] == got["markers"]
    assert 0 < got["p50_ms"] <= got["p99_ms"] <= got["max_ms"]
    assert got["offered_events_per_s"] > 1_000
    assert got["broker_cpu_share"] is not None and got["broker_rss_mb"] > 0


def test_command_starts_and_stops_its_own_broker_per_case() -> None:
    proc = subprocess.run([sys.executable, "-m", "streams.bench.brokerlat", "--prefill", "0,500",
                           "--rate", "1000", "--seconds", "1", "--partitions", "1"],
                          capture_output=True, text=True, timeout=120, check=True)
    cases = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [c["prefill"] for c in cases] == [0, 500]
    assert cases[1]["catch_up_events"] == 500
    assert all(c["markers_read"] == c["markers"] for c in cases)
    assert "broker latency: prefill 500" in proc.stderr
