"""`roompulse bench` end to end on a small workload: one JSON object, correct KPIs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from streams.stack import Stack

pytestmark = pytest.mark.integration

KEYS = {"events_per_s", "baseline_events_per_s", "ratio", "cpu_s_per_million", "peak_rss_mb",
        "p50_ms", "p99_ms", "correct", "worker_ceiling_events_per_s", "latency_worker_cpu_share",
        "events_per_s_from_first_apply", "latency_server_cpu_share", "machine", "workers",
        "redis_aof", "reference_events_per_s", "reference_ratio", "reference_cpu_ratio",
        "reference_cpu_s_per_million", "throughput_server_cpu_s_per_million"}


def bench_env(stack: Stack) -> dict[str, str]:
    """`roompulse bench` pointed at the test stack, with its short group timeouts."""
    k = stack.kafka
    return {**os.environ, "ROOMPULSE_KAFKA_BOOTSTRAP": stack.bootstrap,
            "ROOMPULSE_REDIS_URL": stack.redis_url,
            "ROOMPULSE_KAFKA_SESSION_TIMEOUT_MS": str(k.session_timeout_ms),
            "ROOMPULSE_KAFKA_HEARTBEAT_INTERVAL_MS": str(k.heartbeat_interval_ms),
            "ROOMPULSE_KAFKA_REBALANCE_TIMEOUT_MS": str(k.rebalance_timeout_ms)}


def test_small_bench_reports_every_figure_and_is_correct(stack: Stack) -> None:
    env = bench_env(stack)
    out = subprocess.run(
        # Enough events for several applies: with 20,000 a quiet machine applied them all
        # between two polls of the clock, and the rate was "not measured" (None).
        [sys.executable, "-m", "streams.cli", "bench", "--events", "100000", "--rooms", "5",
         "--baseline-events", "1500", "--latency-seconds", "1", "--rate", "5000", "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result.keys() >= KEYS
    assert result["correct"] is True
    assert result["events_per_s"] > 0 and result["baseline_events_per_s"] > 0
    # The reference read the very same messages, in the same invocation.
    assert result["reference_events"] == result["events"]
    ratio = result["events_per_s"] / result["reference_events_per_s"]
    assert abs(result["reference_ratio"] - ratio) < 0.01
    assert result["machine"]["cores"] >= 1 and result["machine"]["python"]
    assert result["markers_visible"] == result["markers"] > 0
    assert "bench:" in out.stderr  # progress goes to stderr, the JSON alone to stdout
