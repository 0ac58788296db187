"""Error classes: retryable (an outage) or not (a poison input / a configuration error)."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from aiokafka import errors as ke
from redis import exceptions as rx

from streams.settings import RedisSettings
from streams.stack import free_port
from streams.worker.app import redis_client
from streams.worker.errors import error_kind, is_retryable

RETRYABLE = [
    ke.KafkaConnectionError("down"), ke.KafkaTimeoutError(), ke.RequestTimedOutError(),
    ke.NotLeaderForPartitionError(), ke.LeaderNotAvailableError(), ke.NodeNotReadyError(),
    ke.NoBrokersAvailable(), ke.KafkaUnavailableError(), ke.BrokerNotAvailableError(),
    ke.NotEnoughReplicasError(), ke.CoordinatorNotAvailableError(),
    ke.UnknownTopicOrPartitionError(),
    rx.ConnectionError("refused"), rx.TimeoutError("slow"), rx.BusyLoadingError("loading"),
    rx.TryAgainError("TRYAGAIN"), rx.ReadOnlyError("READONLY"), rx.OutOfMemoryError("OOM"),
    rx.NoScriptError("NOSCRIPT"), rx.MasterDownError("MASTERDOWN"),
    rx.ClusterDownError("CLUSTERDOWN"), rx.ClusterError("TTL exhausted"),
    rx.SlotNotCoveredError("slot 7 not covered"),
    rx.RedisClusterException("Redis Cluster cannot be connected"),
    ConnectionRefusedError(), TimeoutError(), OSError("reset"),
]
NOT_RETRYABLE = [
    ke.MessageSizeTooLargeError(), ke.RecordTooLargeError(), ke.RecordListTooLargeError(),
    ke.InvalidTopicError(), ke.TopicAuthorizationFailedError(),
    ke.ClusterAuthorizationFailedError(), ke.AuthenticationFailedError(),
    ke.UnsupportedCodecError(), ke.CorruptRecordException(), ke.KafkaError("unknown"),
    rx.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
    rx.ResponseError("ERR user_script:1: attempt to compare nil with number"),
    rx.DataError("bad arg"), rx.AuthenticationError("invalid password"),
    rx.AuthorizationError("NOPERM"),
    TypeError("Type is not JSON serializable"), ValueError("x"), AssertionError("key or value"),
    asyncio.CancelledError(),
]


@pytest.mark.parametrize("exc", RETRYABLE, ids=lambda e: type(e).__name__)
def test_outages_are_retryable(exc: BaseException) -> None:
    assert is_retryable(exc)
    assert error_kind(exc) in ("timeout", "unavailable")


@pytest.mark.parametrize("exc", NOT_RETRYABLE, ids=lambda e: type(e).__name__)
def test_errors_retrying_cannot_fix_are_not(exc: BaseException) -> None:
    assert not is_retryable(exc)
    assert error_kind(exc) not in ("timeout", "unavailable")


def test_kinds_name_the_cause_without_the_message() -> None:
    assert error_kind(ke.MessageSizeTooLargeError("secret-ish text")) == "too_large"
    assert error_kind(ke.TopicAuthorizationFailedError()) == "auth"
    assert error_kind(rx.ResponseError("WRONGTYPE Operation against a key")) == "wrongtype"
    assert error_kind(orjson.JSONEncodeError("bad")) == "serialization"
    assert error_kind(rx.ResponseError("ERR Error compiling script")) == "script"


@pytest.mark.integration
@pytest.mark.asyncio(loop_scope="session")
async def test_real_redis_errors_are_classified(stack) -> None:
    """The errors a real valkey raises: WRONGTYPE inside a script and a script's own error
    are not retryable; a closed port and an unanswered connect are."""
    client = redis_client(stack.redis)
    key = f"errtest:{uuid.uuid4().hex}"
    try:
        await client.set(key, "a string")
        with pytest.raises(rx.RedisError) as wrongtype:
            await client.eval("return redis.call('HINCRBY', KEYS[1], 'f', 1)", 1, key)
        assert not is_retryable(wrongtype.value) and error_kind(wrongtype.value) == "wrongtype"
        with pytest.raises(rx.RedisError) as script:
            await client.eval("return 1 + nil", 0)
        assert not is_retryable(script.value)
    finally:
        await client.delete(key)
        await client.aclose()
    dead = redis_client(RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        with pytest.raises(rx.RedisError) as down:
            await dead.ping()
        assert is_retryable(down.value) and error_kind(down.value) == "unavailable"
    finally:
        await dead.aclose()
