"""Each notification stage on its own, and the wired pipeline end to end."""

import random

from prometheus_client import CollectorRegistry, Counter

from alerts.model import Alert, AlertState, Audience, Evidence, Severity
from alerts.notifylog import InMemoryNotificationLog
from alerts.pipeline import Notification, PipelineConfig, Receiver, build_pipeline
from alerts.pipeline.config import InhibitRule
from alerts.pipeline.dedup import DedupStage, RecordStage
from alerts.pipeline.fanout import FanoutStage
from alerts.pipeline.group import GroupStage
from alerts.pipeline.inhibit import InhibitStage
from alerts.pipeline.ratelimit import RateLimitStage
from alerts.pipeline.route import RouteStage
from alerts.pipeline.silence import SilenceStage
from alerts.silences import InMemorySilenceStore, new_silence
from alerts.sinks.errors import DeliveryError
from alerts.sinks.prometheus import PrometheusSink
from alerts.sinks.retry import RetryPolicy
from alerts.sinks.topic import TopicSink

NOW = 1_767_240_000_000


def alert(rule="r", room="room-1", state=AlertState.firing, sev=Severity.warning,
          audience=(Audience.control_room,), starts=NOW, product=None) -> Alert:
    return Alert(fingerprint=f"{rule}-{room}-{product}", rule=rule, room_id=room, state=state,
                 severity=sev, audience=audience, product_id=product, starts_at=starts,
                 ends_at=None if state == "firing" else starts + 60_000,
                 evidence=Evidence(kpi="ctr", value=0.01, window="10m"),
                 summary={"zh-CN": "摘要", "en": "summary"}, action={"zh-CN": "动作", "en": "act"})


def notes(*alerts, receiver="rx"):
    return [Notification(receiver, a) for a in alerts]


class Ceiling(random.Random):
    """Full jitter at its upper bound, so the backoff schedule itself can be asserted."""

    def uniform(self, a, b):
        return b


async def no_sleep(s):
    return None


class Recorder:
    def __init__(self, name="rec", fail=None):
        self.name, self.fail, self.calls = name, list(fail or []), []

    async def send(self, alerts):
        self.calls.append([a.fingerprint for a in alerts])
        if self.fail:
            raise self.fail.pop(0)


async def test_route_by_audience_and_severity():
    rs = [Receiver(name="host", sinks=("x",), audiences=(Audience.host,)),
          Receiver(name="oncall", sinks=("x",), min_severity=Severity.critical),
          Receiver(name="all", sinks=("x",))]
    out = await RouteStage(rs).process(notes(alert(audience=(Audience.host, Audience.ops))), NOW)
    assert [n.receiver for n in out] == ["host", "all"]
    out = await RouteStage(rs).process(notes(alert(sev=Severity.critical)), NOW)
    assert [n.receiver for n in out] == ["oncall", "all"]


async def test_group_by_room():
    rs = [Receiver(name="rx", sinks=("x",), group_by=("room_id",))]
    out = await GroupStage(rs).process(
        notes(alert(room="b"), alert(room="a"), alert("q", "b")), NOW)
    assert [(n.group, n.alert.rule) for n in out] == [(("a",), "r"), (("b",), "r"), (("b",), "q")]


async def test_a_stalled_room_inhibits_its_kpi_alerts_only():
    stage = InhibitStage([InhibitRule(source_rule="room-stalled")])
    items = notes(alert("room-stalled"), alert("ctr-low"), alert("ctr-low", room="room-2"),
                  alert("old", state=AlertState.resolved))
    out = await stage.process(items, NOW)
    assert [(n.alert.rule, n.alert.room_id) for n in out] == [
        ("room-stalled", "room-1"), ("ctr-low", "room-2"), ("old", "room-1")]


async def test_silences_match_with_expiry_and_can_be_expired():
    store = InMemorySilenceStore()
    clock = {"now": NOW}
    s = await store.add(new_silence({"room_id": "room-1"}, 600_000, now_ms=NOW, comment="test"))
    await store.add(new_silence([{"name": "rule", "value": "neg.*", "regex": True}], 60_000,
                                now_ms=NOW))
    stage = SilenceStage(store, lambda: clock["now"])
    items = notes(alert(room="room-1"), alert(room="room-2"), alert("negative", room="room-3"))
    assert [n.alert.room_id for n in await stage.process(items, NOW)] == ["room-2"]
    clock["now"] = NOW + 120_000  # the regex silence has run out
    assert [n.alert.room_id for n in await stage.process(items, NOW)] == ["room-2", "room-3"]
    assert await store.expire(s.id, now_ms=clock["now"])
    assert len(await stage.process(items, NOW)) == 3
    assert [x.id for x in await store.list()] and await store.list(active_at=clock["now"]) == []


async def test_dedup_renotify_and_resolution_only_after_a_sent_firing():
    log = InMemoryNotificationLog()
    rs = [Receiver(name="rx", sinks=("x",), renotify="10m")]
    dedup, record = DedupStage(log, rs), RecordStage(log, rs)
    first = notes(alert())
    assert await dedup.process(first, NOW) == first
    await record.process(first, NOW)
    assert await dedup.process(first, NOW + 60_000) == []
    assert await dedup.process(first, NOW + 600_000) == first  # renotify interval reached
    resolved = notes(alert(state=AlertState.resolved))
    assert await dedup.process(resolved, NOW) == resolved
    assert await dedup.process(notes(alert("never-sent", state=AlertState.resolved)), NOW) == []
    await record.process(resolved, NOW)
    assert log.data == {}
    # a new episode (new starts_at) is news again
    await record.process(first, NOW)
    assert await dedup.process(notes(alert(starts=NOW + 1)), NOW + 1) != []


async def test_rate_limit_per_receiver_keeps_critical_and_resolved():
    rs = [Receiver(name="rx", sinks=("x",), rate_limit_per_min=2)]
    stage = RateLimitStage(rs)
    items = notes(alert("a"), alert("b"), alert("c", sev=Severity.critical),
                  alert("d", state=AlertState.resolved))
    out = await stage.process(items, NOW)
    assert [n.alert.rule for n in out] == ["a", "c", "d"]
    assert [n.alert.rule for n in await stage.process(notes(alert("e")), NOW + 30_000)] == []
    assert [n.alert.rule for n in await stage.process(notes(alert("e")), NOW + 60_000)] == ["e"]


async def test_fanout_retries_retryable_failures_only():
    slept = []

    async def sleep(s):
        slept.append(s)

    flaky = Recorder("flaky", [DeliveryError("503", retryable=True)])
    broken = Recorder("broken", [DeliveryError("400", retryable=False)])
    down = Recorder("down", [DeliveryError("timeout", retryable=True)] * 3)
    rs = [Receiver(name="a", sinks=("flaky", "broken")), Receiver(name="b", sinks=("down",))]
    reg = CollectorRegistry()
    counter = Counter("deliveries", "d", ["sink", "outcome"], registry=reg)
    stage = FanoutStage(rs, {s.name: s for s in (flaky, broken, down)},
                        retry=RetryPolicy(max_attempts=3, base_delay_s=0.1), sleep=sleep,
                        rng=Ceiling(), counter=counter)
    items = notes(alert(), receiver="a") + notes(alert(), receiver="b")
    out = await stage.process(items, NOW)
    assert [n.receiver for n in out] == ["a"]  # b gave up: it stays unrecorded, so it retries
    assert len(flaky.calls) == 2 and len(broken.calls) == 1 and len(down.calls) == 3
    assert slept == [0.1, 0.1, 0.2]  # each backoff at its jitter ceiling: 0.1 * 2**(n-1)
    outcomes = {(s.labels["sink"], s.labels["outcome"]): s.value
                for m in reg.collect() for s in m.samples if s.name == "deliveries_total"}
    assert outcomes == {("flaky", "sent"): 1, ("broken", "failed"): 1, ("down", "gave_up"): 1}


async def test_fanout_resends_only_what_a_partial_failure_left_undelivered():
    a, b, c = alert("a"), alert("b"), alert("c")
    partial = Recorder("chat", [DeliveryError("429 on b", retryable=True, undelivered=(b, c))])
    stage = FanoutStage([Receiver(name="rx", sinks=("chat",), group_by=())], {"chat": partial},
                        sleep=no_sleep)
    out = await stage.process(notes(a, b, c), NOW)
    assert len(out) == 3
    assert partial.calls == [[a.fingerprint, b.fingerprint, c.fingerprint],
                             [b.fingerprint, c.fingerprint]]


async def test_fanout_does_not_hammer_a_sink_asking_to_wait_longer_than_a_tick():
    slow_down = Recorder("chat", [DeliveryError("429", retryable=True, retry_after=60.0)])
    reg, now = CollectorRegistry(), [1000.0]
    counter = Counter("deliveries", "d", ["sink", "outcome"], registry=reg)
    stage = FanoutStage([Receiver(name="rx", sinks=("chat",))], {"chat": slow_down},
                        retry=RetryPolicy(max_attempts=5, max_retry_after_s=5.0), sleep=no_sleep,
                        counter=counter, monotonic=lambda: now[0])
    assert await stage.process(notes(alert()), NOW) == []  # left for a later evaluation
    now[0] += 59  # the next ticks, inside the server's Retry-After: the sink is not called
    assert await stage.process(notes(alert()), NOW + 59_000) == []
    assert len(slow_down.calls) == 1
    now[0] += 1
    assert await stage.process(notes(alert()), NOW + 60_000) != []
    assert len(slow_down.calls) == 2

    def count(outcome):
        return reg.get_sample_value("deliveries_total", {"sink": "chat", "outcome": outcome})

    assert (count("gave_up"), count("held"), count("sent")) == (1, 1, 1)


async def test_built_pipeline_sends_to_topic_and_prometheus_once():
    sent = []

    async def send(topic, key, value):
        sent.append((topic, key, value))

    reg = CollectorRegistry()
    prom = PrometheusSink(reg)
    cfg = PipelineConfig(receivers=(
        Receiver(name="topic", sinks=("topic",), renotify=0),
        Receiver(name="metrics", sinks=("prometheus",), every_evaluation=True)))
    log = InMemoryNotificationLog()
    pipe = build_pipeline({"topic": TopicSink(send, "t.alerts"), "prometheus": prom}, cfg,
                          log_store=log, registry=reg)
    a = alert("ctr-low")
    await pipe.run([a], NOW)
    await pipe.run([a], NOW + 1000)
    labels = {"room": "room-1", "rule": "ctr-low", "severity": "warning"}
    assert len(sent) == 1 and sent[0][0] == "t.alerts" and sent[0][1] == b"room-1"
    assert Alert.model_validate_json(sent[0][2]) == a
    assert reg.get_sample_value("roompulse_alerts", {**labels, "state": "firing"}) == 1
    # a new pipeline over the same log (a restart) does not repeat it
    pipe2 = build_pipeline({"topic": TopicSink(send, "t.alerts"), "prometheus": prom}, cfg,
                           log_store=log)
    await pipe2.run([a], NOW + 2000)
    assert len(sent) == 1
    await pipe2.run([alert("ctr-low", state=AlertState.resolved)], NOW + 3000)
    assert len(sent) == 2
    assert reg.get_sample_value("roompulse_alerts", {**labels, "state": "firing"}) == 0
    assert reg.get_sample_value("roompulse_alerts", {**labels, "state": "resolved"}) == 1


async def test_topic_sink_classifies_failures():
    async def down(topic, key, value):
        raise ConnectionError("broker unreachable")

    try:
        await TopicSink(down).send([alert()])
    except DeliveryError as exc:
        assert exc.retryable
    else:
        raise AssertionError("no DeliveryError")


async def test_silence_api_helpers():
    import pytest

    from alerts.silences import (
        SilenceRequestError,
        create_silence,
        expire_silence,
        list_silences,
    )

    store = InMemorySilenceStore()
    made = await create_silence(store, {"matchers": {"room_id": "room-1"}, "duration": "2h",
                                        "created_by": "ops", "comment": "maintenance"})
    assert made["ends_at"] - made["starts_at"] == 7_200_000 and made["created_by"] == "ops"
    assert [s["id"] for s in await list_silences(store, active_only=True)] == [made["id"]]
    with pytest.raises(SilenceRequestError, match="matchers"):
        await create_silence(store, {"duration": "1h"})
    with pytest.raises(SilenceRequestError, match="duration"):
        await create_silence(store, {"matchers": {"rule": "x"}, "duration": "soon"})
    with pytest.raises(SilenceRequestError, match="regex"):
        await create_silence(store, {"matchers": [{"name": "rule", "value": "(", "regex": True}]})
    assert await expire_silence(store, made["id"])
    assert not await expire_silence(store, made["id"])
    assert await list_silences(store, active_only=True) == []


async def test_fanout_holds_a_sink_at_most_max_hold_s_whatever_retry_after_says():
    from alerts.pipeline.fanout import MAX_HOLD_S

    forever = Recorder("chat", [DeliveryError("429", retryable=True, retry_after=1e9)])
    now = [0.0]
    stage = FanoutStage([Receiver(name="rx", sinks=("chat",))], {"chat": forever},
                        sleep=no_sleep, monotonic=lambda: now[0])
    assert await stage.process(notes(alert()), NOW) == []
    now[0] = MAX_HOLD_S - 1
    assert await stage.process(notes(alert()), NOW) == [] and len(forever.calls) == 1
    now[0] = MAX_HOLD_S
    assert await stage.process(notes(alert()), NOW) != [] and len(forever.calls) == 2
