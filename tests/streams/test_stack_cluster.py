"""The Redis Cluster launcher, and the worker's cluster client against a real cluster."""

from __future__ import annotations

import asyncio
import os
import uuid

import redis
from pydantic import SecretStr

from streams.settings import RedisSettings
from streams.stack_cluster import SLOTS, Cluster, start_cluster
from streams.worker.app import redis_client


def _client(cl: Cluster):
    return redis_client(RedisSettings(url=SecretStr(cl.url), cluster=True))


def _keys_by_master(cl: Cluster, per_master: int = 2) -> dict[int, list[str]]:
    """Fresh keys, `per_master` on each master, found through the cluster's own slot map."""

    async def find() -> dict[int, list[str]]:
        client = _client(cl)
        try:
            await client.initialize()
            found: dict[int, list[str]] = {m.port: [] for m in cl.masters()}
            tag = uuid.uuid4().hex[:8]
            i = 0
            while any(len(v) < per_master for v in found.values()):
                key = f"t{tag}:{i}"
                port = client.get_node_from_key(key).port
                if len(found[port]) < per_master:
                    found[port].append(key)
                i += 1
            return found
        finally:
            await client.aclose()

    return asyncio.run(find())


def test_the_cluster_comes_up_with_all_slots_and_a_replica_per_master(
        redis_cluster: Cluster) -> None:
    cl = redis_cluster
    masters = cl.masters()
    assert len(masters) == 3 and len(cl.nodes) == 6
    for m in masters:
        assert [r.role for r in cl.replicas_of(m.port)] == ["replica"]
    for n in cl.nodes:
        with redis.Redis(port=n.port, decode_responses=True) as r:
            info = r.execute_command("CLUSTER", "INFO")
            assert "cluster_state:ok" in info and f"cluster_slots_assigned:{SLOTS}" in info
            assert r.execute_command("CLUSTER", "MYID") == n.node_id
    assert cl.url == f"redis://127.0.0.1:{masters[0].port}"


def test_the_cluster_client_reads_and_writes_across_masters(redis_cluster: Cluster) -> None:
    keys = _keys_by_master(redis_cluster)
    flat = [k for ks in keys.values() for k in ks]

    async def body() -> None:
        client = _client(redis_cluster)
        try:
            for k in flat:
                await client.set(k, f"v-{k}")
            assert [await client.get(k) for k in flat] == [f"v-{k}".encode() for k in flat]
            # One pipeline over slots owned by three masters.
            pipe = client.pipeline(transaction=False)
            for k in flat:
                pipe.incrby(f"{k}:n", 2)
                pipe.get(k)
            out = await pipe.execute()
            assert out[0::2] == [2] * len(flat)
            assert out[1::2] == [f"v-{k}".encode() for k in flat]
            # EVALSHA with a declared key: NOSCRIPT on each master, then loaded and run there.
            incr = client.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            for k in flat:
                assert await incr(keys=[f"{k}:n"], args=[5]) == 7
                assert await incr(keys=[f"{k}:n"], args=[1]) == 8
        finally:
            await client.aclose()

    asyncio.run(body())


def _read_all(cl: Cluster, keys: list[str]) -> list[bytes | None]:
    async def read() -> list[bytes | None]:
        client = _client(cl)  # a fresh client: it learns the slot map after the change
        try:
            return [await client.get(k) for k in keys]
        finally:
            await client.aclose()

    return asyncio.run(read())


def test_a_failover_to_the_replica_keeps_acknowledged_writes(redis_cluster: Cluster) -> None:
    cl = redis_cluster
    keys = _keys_by_master(cl, per_master=3)
    master = cl.masters()[0]
    replica = cl.replicas_of(master.port)[0]
    mine = keys[master.port]
    with redis.Redis(port=master.port) as r:
        for k in mine:
            r.set(k, k)
        assert r.execute_command("WAIT", 1, 1000) == 1  # the replica has them all
    cl.failover(replica.port)
    try:
        assert cl.node(replica.port).role == "master"
        assert cl.node(master.port).role == "replica"
        assert cl.replicas_of(replica.port) == [cl.node(master.port)]
        assert _read_all(cl, mine) == [k.encode() for k in mine]
    finally:
        cl.failover(master.port)  # back to the topology the other tests expect
    assert cl.node(master.port).role == "master"


def test_a_killed_master_restarts_from_its_aof() -> None:
    # No replicas: after the restart the data can only have come from the node's own AOF.
    with start_cluster(masters=3, replicas_per_master=0, aof=True) as cl:
        keys = _keys_by_master(cl, per_master=3)
        master = cl.masters()[1]
        mine = keys[master.port]
        with redis.Redis(port=master.port) as r:
            for k in mine:
                r.set(k, k)
            assert r.execute_command("WAITAOF", 1, 0, 1000) == [1, 0]  # fsynced locally
        pid = cl._procs[master.port].pid
        cl.kill(master.port)
        assert not cl.alive(master.port)
        cl.restart(master.port)
        assert cl._procs[master.port].pid != pid
        cl.wait_ok()
        assert cl.node(master.port).role == "master"
        assert _read_all(cl, mine) == [k.encode() for k in mine]
        tmp = cl._tmp.name if cl._tmp else ""
    assert tmp and not os.path.exists(tmp)  # stop() removed configs, AOFs and logs
