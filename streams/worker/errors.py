"""Error classes: may retrying the same operation succeed (an outage) or never (a poison input)?

The engine retries what `is_retryable` says yes to and pauses while doing it; anything else must
not become an "outage": the offending message is dead-lettered (or counted and dropped) and the
loop moves on. Unknown errors fall back to the library's own flag, so a new aiokafka error is
classified the way aiokafka itself treats it.
"""

from __future__ import annotations

import asyncio

from aiokafka import errors as ke
from redis import exceptions as re_

from streams.exceptions import StreamsError

# aiokafka's `retriable` flag means "the producer may resend this request by itself". Some
# errors it marks False are, for us, an outage all the same: they surface after aiokafka gave up
# waiting for a broker that is down, slow or moving leaders, and a later attempt can succeed.
_KAFKA_RETRYABLE: tuple[type[BaseException], ...] = (
    ke.KafkaTimeoutError, ke.RequestTimedOutError, ke.KafkaUnavailableError,
    ke.BrokerNotAvailableError, ke.KafkaConnectionError, ke.NodeNotReadyError,
    ke.NoBrokersAvailable, ke.LeaderNotAvailableError, ke.NotLeaderForPartitionError,
    ke.RebalanceInProgressError, ke.ReplicaNotAvailableError, ke.KafkaStorageError,
)
# Retrying these sends the same bytes to the same answer: the record, the topic or our rights
# are wrong. Checked before the retryable list (some are subclasses of nothing in particular).
_KAFKA_FATAL: tuple[type[BaseException], ...] = (
    ke.MessageSizeTooLargeError, ke.RecordTooLargeError, ke.RecordListTooLargeError,
    ke.InvalidTopicError, ke.TopicAuthorizationFailedError, ke.ClusterAuthorizationFailedError,
    ke.GroupAuthorizationFailedError, ke.TransactionalIdAuthorizationFailed,
    ke.AuthenticationFailedError, ke.AuthenticationMethodNotSupported, ke.SaslAuthenticationFailed,
    ke.UnsupportedSaslMechanismError, ke.InvalidMessageError, ke.CorruptRecordException,
    ke.UnsupportedCodecError, ke.UnsupportedVersionError, ke.UnsupportedForMessageFormatError,
    ke.InvalidTimestampError, ke.InvalidRequiredAcksError, ke.PolicyViolationError,
    ke.KafkaConfigurationError, ke.IllegalArgumentError,
)
# Redis: the server is away, busy loading, failing over or out of memory - all clear by
# themselves. OOM is retried rather than dead-lettered: valid events must not be thrown away
# because the operator's Redis is full (the apply pauses and `redis_up` shows it).
_REDIS_RETRYABLE: tuple[type[BaseException], ...] = (
    re_.ConnectionError, re_.TimeoutError, re_.BusyLoadingError, re_.TryAgainError,
    re_.ReadOnlyError, re_.MasterDownError, re_.ClusterDownError, re_.OutOfMemoryError,
    re_.NoScriptError,  # the script cache was flushed (restart): the next attempt reloads it
    # Redis Cluster: a node is down or slots are moving (ClusterError: redis-py gave up
    # following redirections). The cluster apply's steps are idempotent, so retrying is safe.
    re_.ClusterError, re_.MovedError, re_.AskError,
)
# Not RedisError subclasses: "cannot connect to any node", "slot not covered" (mid-failover).
_REDIS_CLUSTER_RETRYABLE: tuple[type[BaseException], ...] = (
    re_.RedisClusterException,
)
# AuthenticationError is a ConnectionError subclass in redis-py, but a wrong password stays wrong.
_REDIS_FATAL: tuple[type[BaseException], ...] = (
    re_.AuthenticationError, re_.AuthenticationWrongNumberOfArgsError, re_.AuthorizationError,
)


def is_retryable(exc: BaseException) -> bool:
    """True when the same operation may succeed later (broker/Redis unreachable, timeouts, leader
    moves); False for errors retrying cannot fix (too large, invalid topic, authorization,
    serialization, WRONGTYPE and other script errors). Cancellation is never "retryable"."""
    if isinstance(exc, asyncio.CancelledError):
        return False
    if isinstance(exc, ke.KafkaError):
        if isinstance(exc, _KAFKA_FATAL):
            return False
        return isinstance(exc, _KAFKA_RETRYABLE) or bool(getattr(exc, "retriable", False))
    if isinstance(exc, re_.RedisError):
        if isinstance(exc, _REDIS_FATAL):
            return False
        # ResponseError (WRONGTYPE, a script's own error, ...) and DataError stay False: the
        # same command on the same keys fails the same way.
        return isinstance(exc, _REDIS_RETRYABLE)
    if isinstance(exc, _REDIS_CLUSTER_RETRYABLE):
        return True
    # Below the client libraries: sockets and timers. Everything else (TypeError from a
    # serializer, ValueError, AssertionError, ...) is a bug or a bad input, not an outage.
    return isinstance(exc, (OSError, TimeoutError))


def error_kind(exc: BaseException) -> str:
    """A short, bounded label for metrics and once-per-kind logs (never the message text)."""
    if isinstance(exc, (ke.MessageSizeTooLargeError, ke.RecordTooLargeError,
                        ke.RecordListTooLargeError)):
        return "too_large"
    if isinstance(exc, (ke.TopicAuthorizationFailedError, ke.ClusterAuthorizationFailedError,
                        ke.GroupAuthorizationFailedError, ke.AuthenticationFailedError,
                        ke.SaslAuthenticationFailed, re_.AuthenticationError,
                        re_.AuthorizationError)):
        return "auth"
    if isinstance(exc, ke.InvalidTopicError):
        return "invalid_topic"
    if isinstance(exc, re_.ResponseError) and "WRONGTYPE" in str(exc):
        return "wrongtype"
    if isinstance(exc, (TypeError, ValueError)):
        return "serialization"
    if is_retryable(exc):
        return "timeout" if isinstance(exc, (TimeoutError, ke.KafkaTimeoutError,
                                             ke.RequestTimedOutError,
                                             re_.TimeoutError)) else "unavailable"
    if isinstance(exc, re_.ResponseError):
        return "script" if "script" in str(exc).lower() else "redis_response"
    return "other"


class StartupError(StreamsError, RuntimeError):
    """A dependency is unusable at start; the CLI prints the message as one line, exit 1.
    The message must name what failed and where (host:port), never a secret."""
