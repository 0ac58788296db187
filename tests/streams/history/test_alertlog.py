"""The alert timeline history stores for a live broadcast, read from each room's alert log in
Redis (valkey, one node and a Cluster): complete however much other rooms alert, kept across a
restart of the writer, acknowledgements with their time to acknowledge, the per-room cap held
and counted."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import CollectorRegistry

from alerts.model import Alert, Audience, Evidence, fingerprint
from alerts.sinks.console import FEED_MAXLEN, ConsoleFeed, MemoryConsoleFeed
from streams.history.alertlog import AlertLog
from streams.history.settings import HistorySettings
from streams.history.snapshot import broadcast_id
from streams.history.writer import HistoryWriter
from streams.kpi.fold import BatchFolder
from streams.kpi.store_memory import InMemoryKpiStore
from tests.streams.kpi.factory import T0, ev

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOM = "room-1"
BID = broadcast_id(ROOM, T0)


def alert(rule: str = "low_ctr", room: str = ROOM, state: str = "firing",
          starts_at: int = T0 + 60_000) -> Alert:
    return Alert(
        fingerprint=fingerprint(rule, room), rule=rule, room_id=room, state=state,
        severity="warning", audience=(Audience.control_room,), starts_at=starts_at,
        ends_at=None if state == "firing" else starts_at + 120_000,
        evidence=Evidence(kpi="ctr", value=0.01, window="5m", target=0.03),
        summary={"zh-CN": "点击率低", "en": "CTR low"}, action={"zh-CN": "讲解", "en": "pitch"})


class Broadcast:
    """room-1 live in an in-memory KPI store; `event()` moves it on, so its summary is due."""

    def __init__(self) -> None:
        self.kpis = InMemoryKpiStore()
        self.folder = BatchFolder(self.kpis.settings)
        self.at = 0

    async def event(self) -> None:
        if self.at == 0:
            self.folder.add(ev("broadcast_start", 0, room=ROOM, user=None))
        self.at += 60_000
        self.folder.add(ev("enter", self.at, room=ROOM, source="recommend"))
        assert await self.kpis.apply(self.folder.take(), {("t", 0): self.at}, "g", T0 + self.at)


def writer_of(b: Broadcast, history, feed, registry: CollectorRegistry) -> HistoryWriter:
    return HistoryWriter(b.kpis, HistorySettings(summary_interval_s=0), registry=registry,
                         store=history, feed=feed)


async def noise(feed: ConsoleFeed, n: int, tag: str) -> None:
    """`n` transitions of other rooms, in sends of 100."""
    for i in range(0, n, 100):
        await feed.send([alert(f"r{tag}{j}", room=f"other-{j % 37}") for j in range(i, i + 100)])


def states(history) -> list[tuple[str, str, int]]:
    return [(a["rule"], a["state"], a["at"]) for a in history.load(BID)["summary"]["alerts"]]


@pytest.mark.integration
async def test_other_rooms_traffic_does_not_scroll_a_room_out(history, redis_client):
    """More than the whole feed of other rooms' alerts between two passes, twice: the room's
    timeline is still complete (the shared feed alone has lost it), re-sends listed once."""
    feed = ConsoleFeed(redis_client, prefix=f"t{uuid.uuid4().hex[:8]}:console")
    b, registry = Broadcast(), CollectorRegistry()
    writer = writer_of(b, history, feed, registry)
    await b.event()
    assert await writer.tick() == 1
    fired = alert()
    await feed.send([fired])
    await feed.send([fired])  # re-sent for a group update
    await noise(feed, FEED_MAXLEN + 200, "a")
    assert await feed.ack(fired.fingerprint, "alice", now_ms=fired.starts_at + 90_000)
    await noise(feed, FEED_MAXLEN + 200, "b")
    await feed.send([alert(state="resolved")])
    await noise(feed, FEED_MAXLEN + 200, "c")
    in_feed = [e for e in await feed.recent(2 * FEED_MAXLEN)
               if (e.data.get("alert") or {}).get("room_id") == ROOM or e.kind == "ack"]
    assert in_feed == []  # what the timeline was read from before: nothing of room-1 left
    await b.event()
    assert await writer.tick() == 1
    await writer.close()
    start = fired.starts_at
    assert states(history) == [("low_ctr", "fired", start),
                               ("low_ctr", "acknowledged", start + 90_000),
                               ("low_ctr", "resolved", start + 120_000)]
    ack = history.load(BID)["summary"]["alerts"][1]
    assert ack["by"] == "alice" and ack["time_to_ack_ms"] == 90_000 and ack["kpi"] == "ctr"
    assert registry.get_sample_value("roompulse_history_alert_entries_total",
                                     {"outcome": "read"}) == 3


@pytest.mark.integration
async def test_a_restarted_writer_keeps_the_earlier_entries(history, redis_client):
    """The leader restarts mid-broadcast while the room keeps alerting past its log's cap: the
    new writer has what the old one stored, plus what the log still holds; the cap held and
    what it dropped is counted."""
    registry = CollectorRegistry()
    feed = ConsoleFeed(redis_client, prefix=f"t{uuid.uuid4().hex[:8]}:console", log_maxlen=10,
                       registry=registry)
    b = Broadcast()
    first = writer_of(b, history, feed, CollectorRegistry())
    await b.event()
    fired = alert()
    await feed.send([fired])
    await feed.ack(fired.fingerprint, "alice", now_ms=fired.starts_at + 45_000)
    assert await first.tick() == 1
    await first.close()  # the worker stops; 15 episodes while it is down
    later = [alert(f"rule{i}", starts_at=T0 + (10 + 5 * i) * 60_000) for i in range(15)]
    for a in later:
        await feed.send([a])
        await feed.send([alert(a.rule, state="resolved", starts_at=a.starts_at)])
    assert len(await feed.room_log(ROOM, "0-0")) == 10  # the cap holds
    assert registry.get_sample_value("roompulse_console_alert_log_trimmed_total") == 32 - 10
    second_registry = CollectorRegistry()
    second = writer_of(b, history, feed, second_registry)  # a new process: nothing in memory
    await b.event()
    assert await second.tick() == 1
    await second.close()
    got = states(history)
    assert got[:2] == [("low_ctr", "fired", fired.starts_at),
                       ("low_ctr", "acknowledged", fired.starts_at + 45_000)]
    assert history.load(BID)["summary"]["alerts"][1]["time_to_ack_ms"] == 45_000
    assert got[2:] == [(a.rule, s, a.starts_at + (0 if s == "fired" else 120_000))
                       for a in later[-5:] for s in ("fired", "resolved")]
    assert second_registry.get_sample_value("roompulse_history_alert_entries_total",
                                            {"outcome": "restored"}) == 2


@pytest.mark.integration
async def test_a_new_writer_reads_the_log_from_its_start(history, redis_client):
    """Nothing stored yet (the old leader died before its pass): the log alone gives the
    timeline of the broadcast so far."""
    feed = ConsoleFeed(redis_client, prefix=f"t{uuid.uuid4().hex[:8]}:console")
    fired = alert()
    await feed.send([fired])
    await feed.ack(fired.fingerprint, "bob", now_ms=fired.starts_at + 30_000)
    await noise(feed, FEED_MAXLEN + 200, "d")
    b = Broadcast()
    writer = writer_of(b, history, feed, CollectorRegistry())
    await b.event()
    assert await writer.tick() == 1
    await writer.close()
    assert states(history) == [("low_ctr", "fired", fired.starts_at),
                               ("low_ctr", "acknowledged", fired.starts_at + 30_000)]


async def test_the_history_bound_per_room_drops_the_oldest_and_counts():
    feed = MemoryConsoleFeed()
    for i in range(8):
        await feed.send([alert(f"rule{i}", starts_at=T0 + i * 60_000)])
    log = AlertLog(feed, max_per_room=5)
    assert await log.read(ROOM) == 8
    assert log.dropped == 3
    assert [e["rule"] for e in log.timeline(ROOM, T0, None)] == [f"rule{i}" for i in range(3, 8)]
    assert await log.read(ROOM) == 0  # incremental: nothing new
