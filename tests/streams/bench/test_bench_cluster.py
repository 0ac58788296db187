"""`roompulse bench --redis-cluster` end to end on a small workload: the single-node run and the
3-master cluster run, both correct against the truth, and their ratio reported."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from streams.bench.cluster import combine
from streams.stack import Stack
from tests.streams.bench.test_bench import bench_env

pytestmark = pytest.mark.integration

CLUSTER_KEYS = {"events_per_s", "cpu_s_per_million", "p99_ms", "correct", "masters",
                "redis_bytes_per_room"}


def test_bench_runs_single_node_then_cluster_and_reports_the_ratio(stack: Stack) -> None:
    env = bench_env(stack)
    t0 = time.monotonic()
    out = subprocess.run(
        # 100,000 events as in test_bench: enough applies for both rates to be measured.
        # No reference and no baseline: the cluster run repeats neither.
        [sys.executable, "-m", "streams.cli", "bench", "--redis-cluster", "--events", "100000",
         "--rooms", "5", "--no-reference", "--baseline-events", "0", "--latency-seconds", "1",
         "--rate", "5000", "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    cluster = result["redis_cluster"]
    assert cluster.keys() >= CLUSTER_KEYS
    # The same truth comparison on both runs, over the same workload.
    assert result["correct"] is True and cluster["correct"] is True
    assert cluster["events"] == result["events"]
    assert cluster["masters"] == 3
    assert result["events_per_s"] > 0 and cluster["events_per_s"] > 0
    want = cluster["events_per_s"] / result["events_per_s"]
    assert result["cluster_vs_single"] == pytest.approx(want, abs=0.001)
    # Every room key was found on both (on the cluster: across the masters).
    assert result["redis_bytes_per_room"] > 0 and cluster["redis_bytes_per_room"] > 0
    assert result["redis_keys_per_room"] > 1
    # The cluster run's server CPU is measured on each master.
    assert sum(name.startswith("valkey-")
               for name in cluster["throughput_server_cpu_s_per_million"]) == 3
    assert "run 2 of 2" in out.stderr  # progress on stderr, the JSON alone on stdout
    print(f"bench --redis-cluster took {time.monotonic() - t0:.1f}s")


def test_combine_keeps_the_single_run_on_top_and_refuses_a_ratio_of_nothing() -> None:
    single = {"events_per_s": 200_000, "correct": True, "p99_ms": 90.0}
    merged = combine(single, {"events_per_s": 100_000, "correct": True, "p99_ms": 80.0})
    assert merged["events_per_s"] == 200_000 and merged["p99_ms"] == 90.0
    assert merged["redis_cluster"]["p99_ms"] == 80.0 and merged["redis_cluster"]["masters"] == 3
    assert merged["cluster_vs_single"] == 0.5
    # A run whose clock never started (rate None) has no ratio, not a 0 or a crash.
    assert combine(single, {"events_per_s": None})["cluster_vs_single"] is None
