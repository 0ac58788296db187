"""`roompulse bench --redis-cluster`: the throughput bench twice in one invocation, against the
single embedded valkey and against a 3-master valkey cluster, on the same workload.

Both runs are `streams.bench.run.run_bench` itself: the same simulator (seed, rooms, events),
fresh topics and key prefix each, the same `correct` check against the truth counted while
producing, the same latency phase. The cluster run only differs in where Redis is: its workers
get ROOMPULSE_REDIS_CLUSTER=true and the cluster's URL (procs.child_env reads both from the
stack), and the bench's own store is the cluster-aware one (kpi_store on a RedisCluster
client). The raw reference and the Faust baseline are not repeated: they measure the machine
and the per-event shape, not Redis. The top-level figures stay the single-node run's.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import redis
from pydantic import SecretStr

from streams.bench.machine import ratio
from streams.bench.measure import say
from streams.bench.run import BenchConfig, embedded_servers, run_bench
from streams.settings import RedisSettings
from streams.stack import Stack
from streams.stack_cluster import Cluster, start_cluster

MASTERS = 3
# The cluster run's figures reported under "redis_cluster" (with "masters").
FIELDS = ("events_per_s", "cpu_s_per_million", "p99_ms", "correct", "events",
          "events_measured", "p50_ms", "worker_ceiling_events_per_s",
          "throughput_worker_cpu_share", "throughput_worker_runqueue_share",
          "throughput_server_cpu_s_per_million",
          "throughput_server_cpu_share", "redis_bytes_per_room", "redis_keys_per_room",
          "redis_bytes_per_room_by_kind")


def cluster_stack(stack: Stack, cluster: Cluster) -> Stack:
    """The bench's stack with Redis replaced by the cluster. It owns no process: stopping it
    stops nothing (the broker stays the caller's, the cluster its `with` block's)."""
    return Stack(kafka=stack.kafka, redis=RedisSettings(url=SecretStr(cluster.url),
                                                           cluster=True))


def node_pids(cluster: Cluster) -> dict[str, int]:
    """valkey-<port> -> pid of every master, from INFO server (what each node says it is)."""
    pids = {}
    for node in cluster.masters():
        with redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=5) as r:
            pids[f"valkey-{node.port}"] = int(r.info("server")["process_id"])
    return pids


def combine(single: dict, clustered: dict, masters: int = MASTERS) -> dict:
    """The single-node result with the cluster run's figures and the ratio of the rates."""
    return {**single,
            "redis_cluster": {**{k: clustered.get(k) for k in FIELDS}, "masters": masters},
            "cluster_vs_single": ratio(clustered.get("events_per_s"),
                                       single.get("events_per_s"), 3)}


def run_both(cfg: BenchConfig, stack: Stack) -> dict:
    """Start the cluster next to the stack's broker, run the bench on the single node, then on
    the cluster; the cluster is stopped (and its AOFs removed) on the way out."""
    say(f"starting a {MASTERS}-master valkey cluster (no replicas, AOF "
        f"{'on' if cfg.redis_aof else 'off'})")
    # Before either run: both then share the machine with the same idle servers.
    with start_cluster(masters=MASTERS, replicas_per_master=0, aof=cfg.redis_aof) as cluster:
        say(f"cluster up at {cluster.url}; run 1 of 2: the single valkey")
        single = asyncio.run(run_bench(cfg, stack))
        say(f"single valkey: {single.get('events_per_s')} events/s, correct "
            f"{single.get('correct')}; run 2 of 2: the {MASTERS}-master cluster")
        servers = {k: v for k, v in embedded_servers(stack).items() if k == "tansu"}
        servers.update(node_pids(cluster))
        clustered = asyncio.run(run_bench(
            replace(cfg, reference=False, baseline_events=0), cluster_stack(stack, cluster),
            servers=servers))
    result = combine(single, clustered)
    say(f"cluster: {clustered.get('events_per_s')} events/s, correct "
        f"{clustered.get('correct')}; cluster_vs_single {result['cluster_vs_single']}")
    return result
