"""What a chat sink's answer counts as, and held nudges that a silence or an acknowledgement
made unwanted (real HTTP server on 127.0.0.1; silences and acks in the real Redis, one node and
a Cluster)."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import CollectorRegistry

from alerts.pipeline.builder import build_pipeline
from alerts.pipeline.config import DEFAULT_CONFIG, Receiver
from alerts.silences import new_silence
from alerts.sinks.console import ConsoleFeed
from alerts.sinks.errors import DeliveryError
from alerts.sinks.recheck import StillWanted
from alerts.sinks.retry import RetryPolicy
from alerts.sinks.throttle import NudgeThrottle, ThrottledNudger
from streams.alerting.redis_state import RedisSilenceStore
from tests.alerts.sinks.conftest import make_alert
from tests.alerts.sinks.platforms import Forced
from tests.alerts.sinks.test_platforms import PLATFORMS, sink_for

pytestmark = pytest.mark.asyncio(loop_scope="session")
T0 = 1_700_000_000_000
HTTP_DATE = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: retry at once


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("forced,retryable,retry_after", [
    (Forced(status=400, body="bad request"), False, None),
    (Forced(status=400, body={"errcode": 0, "code": 0}), False, None),  # 4xx even if "ok"
    (Forced(status=403, body="forbidden"), False, None),
    (Forced(status=404, body="no such hook"), False, None),
    (Forced(status=413, body="too large"), False, None),
    (Forced(status=429, body="slow down", headers={"Retry-After": "5"}), True, 5.0),
    (Forced(status=503, body="busy", headers={"Retry-After": HTTP_DATE}), True, 0.0),
    (Forced(status=500, body="oops"), True, None),
    (Forced(status=302, body="", headers={"Location": "http://127.0.0.1:1/x"}), False, None),
])
async def test_every_chat_sink_classifies_http_statuses(platforms, platform, forced, retryable,
                                                       retry_after):
    platforms.force(platform, forced)
    sink = sink_for(platform, platforms.base)
    with pytest.raises(DeliveryError) as info:
        await sink.send([make_alert()])
    await sink.aclose()
    assert info.value.retryable is retryable
    assert info.value.retry_after == retry_after
    assert info.value.status == forced.status


@pytest.mark.parametrize("platform,body", [
    ("wecom", {"errcode": 93000, "errmsg": "invalid webhook url"}),
    ("wecom", {"errcode": "40008", "errmsg": "invalid message type"}),
    ("dingtalk", {"errcode": 310000, "errmsg": "sign not match"}),
    ("feishu", {"code": 19001, "msg": "param invalid"}),
    ("feishu", {"StatusCode": 19024, "StatusMessage": "Key Words Not Found"}),
    ("slack", "invalid_token"),
])
async def test_a_platform_error_in_a_200_body_is_final(platforms, platform, body):
    platforms.force(platform, Forced(status=200, body=body))
    sink = sink_for(platform, platforms.base)
    with pytest.raises(DeliveryError) as info:
        await sink.send([make_alert()])
    await sink.aclose()
    assert info.value.retryable is False and info.value.status == 200


def _pipeline(nudger: ThrottledNudger, reg: CollectorRegistry):
    config = DEFAULT_CONFIG.model_copy(update={"receivers": (
        Receiver(name="hosts", sinks=("webhook",), renotify=0),), "retry_backoff_ms": 0})
    return build_pipeline({"webhook": nudger}, config, registry=reg)


def _deliveries(reg: CollectorRegistry, outcome: str) -> float:
    v = reg.get_sample_value("roompulse_alert_sink_deliveries_total",
                             {"sink": "webhook", "outcome": outcome})
    return v or 0.0


async def test_a_rejected_nudge_is_counted_failed_never_sent(platforms):
    reg, now = CollectorRegistry(), [T0]
    chat = sink_for("webhook", platforms.base)
    nudger = ThrottledNudger(chat, NudgeThrottle(interval_ms=60_000), clock_ms=lambda: now[0],
                             registry=reg, retry=RetryPolicy(max_attempts=3))
    pipeline = _pipeline(nudger, reg)
    platforms.force("webhook", Forced(status=400, body="schema mismatch"))
    await pipeline.run([make_alert(rule="a")], T0)  # immediate, answered 400
    assert (_deliveries(reg, "failed"), _deliveries(reg, "sent")) == (1, 0)
    await pipeline.run([make_alert(rule="b")], T0)  # slot freed by the failure: goes, accepted
    await pipeline.run([make_alert(rule="c")], T0)  # held for the room's next slot
    assert (_deliveries(reg, "sent"), _deliveries(reg, "queued")) == (1, 1)
    platforms.force("webhook", Forced(status=400, body="schema mismatch"))
    now[0] += 60_000
    assert await nudger.flush_due() == 1
    await chat.aclose()
    assert platforms.hits["webhook"] == 3  # a, b, and c once: a 400 is not retried
    assert reg.get_sample_value("roompulse_nudge_failures_total", {"sink": nudger.name}) == 1
    assert reg.get_sample_value("roompulse_nudge_decisions_total",
                                {"sink": nudger.name, "outcome": "sent_queued"}) is None


@pytest.mark.integration
async def test_a_silence_or_an_ack_after_queueing_stops_the_held_nudge(platforms, redis_client):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    silences, feed = RedisSilenceStore(redis_client, prefix), ConsoleFeed(redis_client,
                                                                         prefix=prefix)
    now = [T0]
    chat = sink_for("wecom", platforms.base)
    nudger = ThrottledNudger(chat, NudgeThrottle(interval_ms=60_000), clock_ms=lambda: now[0],
                             still_wanted=StillWanted(silences, feed))
    first_r1, held_r1 = make_alert(room="r1", rule="a"), make_alert(room="r1", rule="b")
    first_r2, held_r2 = make_alert(room="r2", rule="a"), make_alert(room="r2", rule="b")
    held_r3 = make_alert(room="r3", rule="b")
    assert await nudger.send([first_r1, first_r2, make_alert(room="r3", rule="a")]) == "sent"
    assert await nudger.send([held_r1, held_r2, held_r3]) == "queued"
    # While they wait: r1's rule is silenced, r2's alert acknowledged, r3 left alone.
    await silences.add(new_silence({"room_id": "r1", "rule": "b"}, 3_600_000, created_by="op"))
    await feed.send([held_r2])
    assert await feed.ack(held_r2.fingerprint, "op") is not None
    now[0] += 60_000
    assert await nudger.flush_due() == 1
    assert len(platforms.accepted["wecom"]) == 4  # three immediate ones + r3's held one

    def count(outcome: str) -> float:
        return nudger.decisions.labels(nudger.name, outcome)._value.get()

    assert (count("silenced"), count("acknowledged"), count("sent_queued")) == (1, 1, 1)
    # Nothing was sent for r1: its slot is free again.
    assert await nudger.send([make_alert(room="r1", rule="c")]) == "sent"
    await chat.aclose()


async def test_held_nudges_still_go_when_the_store_cannot_answer(platforms):
    async def broken(alerts):
        raise ConnectionError("redis down")

    now = [T0]
    chat = sink_for("feishu", platforms.base)
    nudger = ThrottledNudger(chat, NudgeThrottle(interval_ms=1_000), clock_ms=lambda: now[0],
                             still_wanted=broken)
    await nudger.send([make_alert(rule="a")])
    await nudger.send([make_alert(rule="b")])
    now[0] += 1_000
    assert await nudger.flush_due() == 1
    await chat.aclose()
    assert len(platforms.accepted["feishu"]) == 2
