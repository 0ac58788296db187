"""Retry: only retryable failures, exponential backoff with jitter, bounded, Retry-After."""

from __future__ import annotations

import random

import pytest

from alerts.sinks.base import SinkError
from alerts.sinks.http import DeliveryError
from alerts.sinks.retry import RetryPolicy, send_with_retry
from tests.alerts.sinks.conftest import make_alert

aio = pytest.mark.asyncio(loop_scope="session")


class ScriptedSink:
    """A dependency stand-in: fails with the scripted errors, then succeeds; records batches."""

    name = "scripted"

    def __init__(self, *errors: Exception):
        self.errors = list(errors)
        self.batches: list[list] = []

    async def send(self, alerts):
        self.batches.append(list(alerts))
        if self.errors:
            raise self.errors.pop(0)


class Sleeps(list):
    async def __call__(self, s: float) -> None:
        self.append(s)


def test_backoff_is_exponential_jittered_and_capped():
    p = RetryPolicy(base_delay_s=1, max_delay_s=5)
    rng = random.Random(1)
    for attempt, cap in [(1, 1), (2, 2), (3, 4), (4, 5), (10, 5)]:
        delays = [p.delay(attempt, None, rng) for _ in range(200)]
        assert 0 <= min(delays) and max(delays) <= cap and max(delays) > cap / 2
    assert p.delay(1, 7.0, rng) == 7.0
    assert p.delay(1, 10_000, rng) == p.max_retry_after_s


@aio
async def test_retries_retryable_then_succeeds():
    sink = ScriptedSink(SinkError("x", retryable=True), SinkError("y", retryable=True))
    sleeps = Sleeps()
    used = await send_with_retry(sink, [make_alert()], RetryPolicy(max_attempts=3), sleep=sleeps)
    assert used == 3 and len(sleeps) == 2


@aio
async def test_non_retryable_fails_at_once():
    sink, sleeps = ScriptedSink(SinkError("no", retryable=False)), Sleeps()
    with pytest.raises(SinkError):
        await send_with_retry(sink, [make_alert()], sleep=sleeps)
    assert len(sink.batches) == 1 and sleeps == []


@aio
async def test_attempts_are_bounded_and_retry_after_honoured():
    errs = [DeliveryError("429", retryable=True, retry_after=3.0) for _ in range(5)]
    sink, sleeps = ScriptedSink(*errs), Sleeps()
    with pytest.raises(DeliveryError):
        await send_with_retry(sink, [make_alert()], RetryPolicy(max_attempts=4), sleep=sleeps)
    assert len(sink.batches) == 4 and sleeps == [3.0, 3.0, 3.0]


@aio
async def test_only_undelivered_alerts_are_resent():
    a, b = make_alert(room="a"), make_alert(room="b")
    sink = ScriptedSink(DeliveryError("half", retryable=True, undelivered=(b,)))
    await send_with_retry(sink, [a, b], sleep=Sleeps())
    assert sink.batches == [[a, b], [b]]


@aio
async def test_retry_against_real_server(platforms, alert):
    from tests.alerts.sinks.platforms import Forced
    from tests.alerts.sinks.test_platforms import sink_for

    platforms.force("dingtalk", Forced(status=503),
                    Forced(body={"errcode": 130101, "errmsg": "send too fast"}))
    inner = sink_for("dingtalk", platforms.base)
    try:
        used = await send_with_retry(inner, [alert], RetryPolicy(max_attempts=3, base_delay_s=0.01))
    finally:
        await inner.aclose()
    assert used == 3
    assert platforms.hits["dingtalk"] == 3 and len(platforms.accepted["dingtalk"]) == 1
