"""The asyncio Redis client every roompulse process builds from RedisSettings (no Faust here:
the alert evaluation's child process imports it too)."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from streams.settings import RedisSettings


def redis_client(settings: RedisSettings) -> Any:
    """An asyncio Redis client whose calls fail fast instead of hanging on a dead server: an
    `aioredis.Redis`, or with `settings.cluster` a `RedisCluster` that discovers the other
    nodes from the one in the URL. (`Any`: callers type it as `aioredis.Redis` and use the
    command API both share.)"""
    url = settings.client_url()
    if url is None:
        raise ValueError("Redis URL is not set")
    password = settings.password.get_secret_value() if settings.password else None
    if settings.cluster:
        return RedisCluster.from_url(url, password=password, socket_timeout=5,
                                     socket_connect_timeout=2)
    return aioredis.Redis.from_url(url, password=password, socket_timeout=5,
                                   socket_connect_timeout=2)
