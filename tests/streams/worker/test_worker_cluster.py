"""`roompulse worker` on a real Redis Cluster (valkey, 3 masters): exact KPIs through worker
SIGKILLs, a rebalance, a master's graceful restart and a master's SIGKILL with failover."""

from __future__ import annotations

import time

import pytest
import redis
from redis.asyncio.cluster import RedisCluster

from streams.bench import workload
from streams.kpi.store_cluster import ClusterKpiStore
from streams.stack_cluster import start_cluster
from tests.streams.worker.conftest import wait_for
from tests.streams.worker.procs import WorkerProc, new_group, worker_env
from tests.streams.worker.test_engine import assert_exact
from tests.streams.worker.test_worker_process import kill_9_and_restart, two_workers_one_killed

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def cluster_env(stack, topics, kpi, group: str, url: str, **extra: str) -> dict:
    return worker_env(stack, topics, kpi.key_prefix, group, ROOMPULSE_REDIS_URL=url,
                      ROOMPULSE_REDIS_CLUSTER="true", **extra)


async def applied(store, group: str) -> int:
    return sum((await store.load_offsets(group)).values())


async def _done(store, group: str, n: int) -> bool:
    try:
        return await applied(store, group) >= n
    except Exception:  # noqa: BLE001 - a node is failing over: not done yet
        return False


@pytest.fixture
async def cstore(redis_cluster, kpi_settings):
    client = RedisCluster.from_url(redis_cluster.url)
    try:
        yield ClusterKpiStore(client, kpi_settings)
    finally:
        await client.aclose()


async def test_kill_9_and_restart_on_a_cluster_keeps_kpis_exact(stack, redis_cluster,
                                                                topic_settings, cstore):
    await kill_9_and_restart(stack, topic_settings, cstore, new_group(),
                             ROOMPULSE_REDIS_URL=redis_cluster.url,
                             ROOMPULSE_REDIS_CLUSTER="true")


async def test_two_workers_on_a_cluster_survive_a_kill(stack, redis_cluster, topic_settings,
                                                       cstore):
    await two_workers_one_killed(stack, topic_settings, cstore, new_group(),
                                 ROOMPULSE_REDIS_URL=redis_cluster.url,
                                 ROOMPULSE_REDIS_CLUSTER="true")


@pytest.mark.parametrize("fault", ["graceful_restart", "sigkill_failover"])
async def test_a_master_lost_mid_stream_leaves_the_kpis_exact(stack, topic_settings,
                                                              kpi_settings, fault):
    """graceful_restart: a master shut down (final AOF fsync) and started again.
    sigkill_failover: a master SIGKILLed; its replica takes over. The worker WAITs for one
    replica before offsets move (ROOMPULSE_REDIS_WAIT_REPLICAS=1), so nothing counted is lost."""
    replicas = 1 if fault == "sigkill_failover" else 0
    with start_cluster(masters=3, replicas_per_master=replicas, aof=True) as cl:
        client = RedisCluster.from_url(cl.url)
        store = ClusterKpiStore(client, kpi_settings)
        group = new_group()
        w = workload.build(4, 400, int(time.time() * 1000), dup_every=9)
        env = cluster_env(stack, topic_settings, kpi_settings, group, cl.url,
                          ROOMPULSE_WORKER_BATCH_MAX_RECORDS="50",
                          ROOMPULSE_REDIS_WAIT_REPLICAS=str(replicas))
        worker = WorkerProc(env)
        try:
            await worker.wait_ready()
            await workload.produce(stack.kafka, topic_settings, w.messages)
            await wait_for(lambda: _done(store, group, len(w.messages) // 4), 30,
                           "some applied")
            victim = cl.masters()[1].port
            if fault == "graceful_restart":
                with redis.Redis(port=victim) as admin:
                    admin.shutdown(nosave=True)  # AOF is fsynced on shutdown
                cl._killed.add(victim)  # stopped on purpose
                time.sleep(1.0)
                cl.restart(victim)
            else:
                cl.kill(victim)  # the replica is promoted after the node timeout (2 s)
            await wait_for(lambda: _done(store, group, len(w.messages)), 90, "all applied")
            assert worker.proc.poll() is None, worker.output()
        finally:
            worker.stop()
            await client.aclose()
        await assert_exact(store, w)
