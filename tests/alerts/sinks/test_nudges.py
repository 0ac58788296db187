"""Nudges topic sink and the throttled nudge driver, end to end on real transports."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from alerts.model import Audience, Severity
from alerts.sinks.base import Sink
from alerts.sinks.errors import DeliveryError
from alerts.sinks.nudges import Nudge, NudgeTopicSink
from alerts.sinks.throttle import NudgeThrottle, ThrottledNudger
from tests.alerts.sinks.conftest import make_alert

aio = pytest.mark.asyncio(loop_scope="session")


class Published(list):
    async def __call__(self, topic: str, key: bytes, value: bytes) -> None:
        self.append((topic, key, orjson.loads(value)))


@aio
async def test_topic_sink_publishes_short_text_keyed_by_room():
    sent = Published()
    sink = NudgeTopicSink(sent, topic="x.nudges")
    assert isinstance(sink, Sink)
    await sink.send([make_alert(room="r9"), make_alert(audience=(Audience.ops,))])
    [(topic, key, value)] = sent
    assert (topic, key) == ("x.nudges", b"r9")
    nudge = Nudge.model_validate(value)
    assert nudge.text == "【注意】商品「保温杯」加购率突增 35%\n立即延长该商品讲解时长"
    assert nudge.room_id == "r9" and nudge.lang == "zh-CN"


@aio
async def test_topic_sink_failure_is_retryable_with_undelivered():
    async def broken(topic, key, value):
        raise ConnectionError("broker down")

    a = make_alert()
    with pytest.raises(DeliveryError) as info:
        await NudgeTopicSink(broken).send([a])
    assert info.value.retryable and info.value.undelivered == (a,)


@pytest.mark.integration
@aio
async def test_topic_sink_on_the_embedded_broker(stack, topic_settings):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(**stack.kafka.client_kwargs())
    await producer.start()
    try:
        sink = NudgeTopicSink(lambda t, k, v: producer.send_and_wait(t, key=k, value=v),
                              topic=topic_settings.nudges)
        await sink.send([make_alert(room="room-42")])
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic_settings.nudges, auto_offset_reset="earliest",
                                **stack.kafka.client_kwargs())
    await consumer.start()
    try:
        msg = await asyncio.wait_for(consumer.getone(), 20)
    finally:
        await consumer.stop()
    assert msg.key == b"room-42"
    assert Nudge.model_validate_json(msg.value).room_id == "room-42"


@aio
async def test_throttled_driver_sends_now_queues_and_flushes_on_its_slot(platforms):
    from tests.alerts.sinks.test_platforms import sink_for

    now = [1_700_000_000_000]
    chat = sink_for("wecom", platforms.base)
    nudger = ThrottledNudger(chat, NudgeThrottle(interval_ms=120_000), clock_ms=lambda: now[0])
    await nudger.send([make_alert(rule="a")])
    await nudger.send([make_alert(rule="b"), make_alert(rule="c", severity=Severity.critical)])
    assert len(platforms.accepted["wecom"]) == 1
    now[0] += 119_999
    assert await nudger.flush_due() == 0
    now[0] += 1
    assert await nudger.flush_due() == 1
    await chat.aclose()
    assert "【紧急】" in platforms.accepted["wecom"][1]["markdown"]["content"]

    def count(outcome):
        return nudger.decisions.labels(nudger.name, outcome)._value.get()

    assert (count("send"), count("queued"), count("replaced"), count("sent_queued")) == (1, 1, 1, 1)


@aio
async def test_throttled_driver_loop_delivers_queued_nudge(platforms):
    from tests.alerts.sinks.test_platforms import sink_for

    chat = sink_for("feishu", platforms.base)
    nudger = ThrottledNudger(chat, NudgeThrottle(interval_ms=50))
    nudger.start()
    try:
        await nudger.send([make_alert(rule="a")])
        await nudger.send([make_alert(rule="b")])
        for _ in range(200):
            if len(platforms.accepted["feishu"]) == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        await nudger.stop()
        await chat.aclose()
    assert len(platforms.accepted["feishu"]) == 2


@aio
async def test_queued_nudge_is_retried_then_counted_when_it_fails_for_good(platforms):
    from alerts.sinks.retry import RetryPolicy
    from tests.alerts.sinks.platforms import Forced
    from tests.alerts.sinks.test_platforms import sink_for

    now, sleeps = [0], []

    async def sleep(s):
        sleeps.append(s)

    chat = sink_for("slack", platforms.base)
    nudger = ThrottledNudger(chat, NudgeThrottle(interval_ms=1000), clock_ms=lambda: now[0],
                             retry=RetryPolicy(max_attempts=2), sleep=sleep)
    await nudger.send([make_alert(rule="a")])
    await nudger.send([make_alert(rule="b")])
    platforms.force("slack", Forced(status=429, body="rate_limited", headers={"Retry-After": "2"}))
    now[0] = 1000
    await nudger.flush_due()
    assert sleeps == [2.0] and len(platforms.accepted["slack"]) == 2
    await nudger.send([make_alert(rule="c", room="r2")])  # slot free: immediate
    await nudger.send([make_alert(rule="d", room="r2")])
    platforms.force("slack", Forced(status=500), Forced(status=500))
    now[0] = 2000
    await nudger.flush_due()
    await chat.aclose()
    assert nudger.failures.labels(nudger.name)._value.get() == 1


def test_chat_sinks_from_env(monkeypatch):
    import os

    from alerts.sinks.bots import chat_sinks_from_env

    for k in list(os.environ):
        if k.startswith("ROOMPULSE_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("ROOMPULSE_FEISHU_TOKEN", "t-SECRET")
    monkeypatch.setenv("ROOMPULSE_SLACK_WEBHOOK_URL",
                       "https://hooks.slack.com/services/A/B/C-SECRET")
    sinks = chat_sinks_from_env()
    assert sorted(sinks) == ["feishu", "slack"]
    assert "SECRET" not in repr(sinks)


@aio
async def test_a_final_immediate_failure_raises_and_frees_the_slot(platforms):
    from tests.alerts.sinks.platforms import Forced
    from tests.alerts.sinks.test_platforms import sink_for

    chat = sink_for("dingtalk", platforms.base)
    nudger = ThrottledNudger(chat, clock_ms=lambda: 1_000)
    platforms.force("dingtalk", Forced(status=400, body="bad request"))
    with pytest.raises(DeliveryError) as info:
        await nudger.send([make_alert()])
    assert not info.value.retryable
    assert await nudger.send([make_alert()]) == "sent"  # the slot was freed: goes now
    await chat.aclose()
    assert len(platforms.accepted["dingtalk"]) == 1 and len(nudger.throttle) == 0


@aio
async def test_a_retryable_immediate_failure_waits_for_retry_after_in_the_background(platforms):
    from tests.alerts.sinks.platforms import Forced
    from tests.alerts.sinks.test_platforms import sink_for

    now = [1_000_000]
    chat = sink_for("slack", platforms.base)
    nudger = ThrottledNudger(chat, clock_ms=lambda: now[0])
    platforms.force("slack", Forced(status=429, body="rate_limited", headers={"Retry-After": "3"}))
    assert await nudger.send([make_alert()]) == "retrying"  # the pipeline is not held up
    now[0] += 2_999
    assert await nudger.flush_due() == 0 and platforms.hits["slack"] == 1
    assert nudger.next_due_ms() == 1_003_000
    now[0] += 1
    assert await nudger.flush_due() == 1
    await chat.aclose()
    assert len(platforms.accepted["slack"]) == 1

    def count(outcome):
        return nudger.decisions.labels(nudger.name, outcome)._value.get()

    assert (count("retrying"), count("sent_queued")) == (1, 1)
