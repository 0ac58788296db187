"""Start checks: Kafka and Redis must answer before the worker starts, or it exits with one line.

Failing fast (exit 1, one line naming the address) rather than waiting: a supervisor restarts
the worker, and a wrong address or password is visible at once instead of as a worker that is
up but never ready. Nothing here prints a secret: addresses are host:port only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from urllib.parse import urlsplit

from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from streams.settings import KafkaSettings, RedisSettings, TopicSettings
from streams.topics import create_topics
from streams.worker.errors import StartupError, is_retryable

_NETWORK_ERRORS = (KafkaError, RedisError, OSError, asyncio.TimeoutError)


def redis_address(url: str | None) -> str:
    """host:port (or the socket path) of a Redis URL: no user, password or query."""
    if not url:
        return "(unset)"
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return parts.path or "(unix socket)"
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    except ValueError:
        return "(unparseable URL)"


def _why(exc: BaseException, what: str, where: str) -> StartupError:
    if isinstance(exc, asyncio.TimeoutError) or is_retryable(exc):
        return StartupError(f"{what} unreachable at {where} ({type(exc).__name__}); "
                            f"is it running, and is the address right?")
    return StartupError(f"{what} at {where} refused the worker ({type(exc).__name__}); "
                        f"check the credentials and settings")


@contextlib.contextmanager
def _quiet(logger: str):
    """aiokafka logs its own ERROR per failed connect; our one line says it all."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


async def prepare_kafka(kafka: KafkaSettings, topics: TopicSettings, timeout_s: float) -> None:
    """Create the missing topics (the first contact with the broker), or raise StartupError."""
    try:
        with _quiet("aiokafka"):
            await asyncio.wait_for(create_topics(kafka, topics), timeout_s)
    except _NETWORK_ERRORS as exc:
        raise _why(exc, "Kafka", kafka.bootstrap or "(unset)") from None


async def check_redis(settings: RedisSettings, timeout_s: float) -> None:
    """PING Redis once with the worker's own client settings, or raise StartupError."""
    from streams.worker.app import redis_client  # the same client options the worker uses

    client = redis_client(settings)
    try:
        await asyncio.wait_for(client.ping(), timeout_s)
    except _NETWORK_ERRORS as exc:
        raise _why(exc, "Redis", redis_address(settings.client_url())) from None
    finally:
        await client.aclose()


def check_port_free(host: str, port: int, setting: str) -> None:
    """Bind and release (host, port) as the server will (SO_REUSEADDR), or raise StartupError:
    a port already taken is one line now, not a traceback after Kafka and Redis are joined."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise StartupError(f"cannot listen on {host}:{port} ({setting}): "
                               f"{exc.strerror or type(exc).__name__}") from None
