"""Retry (alerts.sinks.retry): only retryable failures, exponential backoff with jitter, capped,
bounded, Retry-After in seconds or as an HTTP date, partial batches narrowed."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from alerts.sinks.errors import DeliveryError
from alerts.sinks.retry import RetryPolicy, send_with_retry
from tests.alerts.sinks.conftest import make_alert
from tests.alerts.sinks.platforms import Forced
from tests.alerts.sinks.test_platforms import sink_for

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
        assert min(delays) >= 0 and max(delays) <= cap and max(delays) > cap / 2
    assert p.delay(1, 7.0, rng) == 7.0
    assert p.delay(1, 10_000, rng) == p.max_retry_after_s


@aio
async def test_retries_retryable_then_succeeds():
    sink = ScriptedSink(DeliveryError("x", retryable=True), DeliveryError("y", retryable=True))
    sleeps = Sleeps()
    used = await send_with_retry(sink, [make_alert()], RetryPolicy(max_attempts=3), sleep=sleeps)
    assert used.attempts == 3 and len(sleeps) == 2


@aio
async def test_non_retryable_fails_at_once():
    sink, sleeps = ScriptedSink(DeliveryError("no", retryable=False)), Sleeps()
    with pytest.raises(DeliveryError):
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
    platforms.force("dingtalk", Forced(status=503),
                    Forced(body={"errcode": 130101, "errmsg": "send too fast"}))
    inner = sink_for("dingtalk", platforms.base)
    try:
        used = await send_with_retry(inner, [alert], RetryPolicy(max_attempts=3, base_delay_s=0.01))
    finally:
        await inner.aclose()
    assert used.attempts == 3
    assert platforms.hits["dingtalk"] == 3 and len(platforms.accepted["dingtalk"]) == 1


class Ceiling(random.Random):
    """Full jitter at its upper bound, so the capped backoff schedule itself can be asserted."""

    def uniform(self, a, b):
        return b


def test_next_wait_stops_on_final_errors_spent_attempts_and_over_long_retry_after():
    p, rng = RetryPolicy(max_attempts=3, max_retry_after_s=10), random.Random(0)
    assert p.next_wait(1, DeliveryError("400", retryable=False), rng) is None
    assert p.next_wait(3, DeliveryError("503", retryable=True), rng) is None
    assert p.next_wait(1, DeliveryError("429", retryable=True, retry_after=11), rng) is None
    assert p.next_wait(2, DeliveryError("429", retryable=True, retry_after=10), rng) == 10
    assert p.next_wait(1, DeliveryError("429", retryable=True, retry_after=-3), rng) == 0


@aio
async def test_a_final_failure_names_every_pending_alert():
    a, b = make_alert(room="a"), make_alert(room="b")
    sink = ScriptedSink(DeliveryError("no", retryable=False))
    with pytest.raises(DeliveryError) as info:
        await send_with_retry(sink, [a, b], sleep=Sleeps())
    assert info.value.undelivered == (a, b)


# Against the fake platforms on 127.0.0.1: the header travels through real HTTP, the sink's
# classification and the helper; only the sleeping is recorded instead of waited.

@aio
async def test_retry_after_seconds_from_the_server_is_the_wait(platforms, alert):
    platforms.force("slack", Forced(status=429, body="rate_limited", headers={"Retry-After": "2"}))
    sink, sleeps = sink_for("slack", platforms.base), Sleeps()
    try:
        sent = await send_with_retry(sink, [alert], RetryPolicy(max_attempts=3), sleep=sleeps)
    finally:
        await sink.aclose()
    assert sent.attempts == 2 and sleeps == [2.0]
    assert platforms.hits["slack"] == 2 and len(platforms.accepted["slack"]) == 1


@aio
async def test_retry_after_http_date_from_the_server_is_waited_until(platforms, alert):
    when = email.utils.formatdate(time.time() + 3, usegmt=True)  # whole seconds: 2 < wait <= 3
    platforms.force("webhook", Forced(status=503, body="busy", headers={"Retry-After": when}))
    sink, sleeps = sink_for("webhook", platforms.base), Sleeps()
    try:
        sent = await send_with_retry(sink, [alert], RetryPolicy(max_attempts=2), sleep=sleeps)
    finally:
        await sink.aclose()
    assert sent.attempts == 2 and len(sleeps) == 1 and 1.0 < sleeps[0] <= 3.0
    assert len(platforms.accepted["webhook"]) == 1


@aio
async def test_a_retry_after_beyond_the_cap_ends_the_retries(platforms, alert):
    platforms.force("feishu", Forced(status=429, body={"code": 11232, "msg": "frequency limited"},
                                     headers={"Retry-After": "600"}))
    sink, sleeps = sink_for("feishu", platforms.base), Sleeps()
    with pytest.raises(DeliveryError) as info:
        await send_with_retry(sink, [alert], RetryPolicy(max_attempts=4, max_retry_after_s=120),
                              sleep=sleeps)
    await sink.aclose()
    assert info.value.retryable and info.value.retry_after == 600.0
    assert platforms.hits["feishu"] == 1 and sleeps == []  # no early retry against its wish


@aio
async def test_backoff_without_retry_after_is_exponential_and_capped(platforms, alert):
    platforms.force("wecom", *[Forced(status=500, body="oops")] * 3)
    sink, sleeps = sink_for("wecom", platforms.base), Sleeps()
    try:
        sent = await send_with_retry(
            sink, [alert], RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=1.5),
            sleep=sleeps, rng=Ceiling())
    finally:
        await sink.aclose()
    assert sent.attempts == 4 and sleeps == [1.0, 1.5, 1.5]
    assert platforms.hits["wecom"] == 4 and len(platforms.accepted["wecom"]) == 1


@pytest.mark.parametrize("platform,forced", [
    ("wecom", Forced(status=200, body={"errcode": 93000, "errmsg": "invalid webhook url"})),
    ("dingtalk", Forced(status=200, body={"errcode": 310000, "errmsg": "sign not match"})),
    ("slack", Forced(status=403, body="invalid_token", headers={"Retry-After": "1"})),
    ("webhook", Forced(status=404, body="no such hook")),
])
@aio
async def test_a_final_answer_is_never_retried(platforms, alert, platform, forced):
    platforms.force(platform, forced)
    sink, sleeps = sink_for(platform, platforms.base), Sleeps()
    with pytest.raises(DeliveryError) as info:
        await send_with_retry(sink, [alert], RetryPolicy(max_attempts=4), sleep=sleeps)
    await sink.aclose()
    assert not info.value.retryable
    assert platforms.hits[platform] == 1 and sleeps == []
