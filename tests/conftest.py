"""Shared fixtures: one embedded stack (Tansu + valkey-server) per test session."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio
from pydantic import SecretStr

from streams.settings import RedisSettings, TopicSettings
from streams.stack import Stack, start_stack
from streams.topics import create_topics


@pytest.fixture(scope="session")
def stack() -> Stack:
    """The real broker and Redis, started once; honours ROOMPULSE_KAFKA_BOOTSTRAP/REDIS_URL."""
    s = start_stack()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def topic_settings(stack: Stack) -> TopicSettings:
    """A fresh topic prefix per test, so tests never see each other's events."""
    topics = TopicSettings(prefix=f"t{uuid.uuid4().hex[:10]}", partitions=4)
    asyncio.run(create_topics(stack.kafka, topics))
    return topics


@pytest.fixture(scope="session")
def redis_cluster():
    """A real Redis Cluster (valkey-server): 3 masters with 1 replica each, AOF on."""
    from streams.stack_cluster import start_cluster

    with start_cluster(masters=3, replicas_per_master=1, aof=True) as cl:
        yield cl


@pytest.fixture(params=["single", "cluster"])
def redis_settings(request) -> RedisSettings:
    """Where a Redis-backed test runs: the stack's one node, then the 3-master cluster. (Sync, so
    that starting either runs outside the session's event loop.)"""
    if request.param == "cluster":
        return RedisSettings(url=SecretStr(request.getfixturevalue("redis_cluster").url),
                             cluster=True)
    return request.getfixturevalue("stack").redis


@pytest_asyncio.fixture(loop_scope="session")
async def redis_client(redis_settings: RedisSettings):
    """The worker's own client for `redis_settings`: an asyncio Redis, or a RedisCluster. Tests
    sharing the cluster or the node use a fresh key prefix each."""
    from streams.worker.app import redis_client as make

    client = make(redis_settings)
    try:
        yield client
    finally:
        await client.aclose()
