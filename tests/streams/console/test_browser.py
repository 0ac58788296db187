"""End to end in headless Chromium over the real Redis: the page loads, an alert the evaluator
raises on the room's real KPIs appears without a reload, an operator acknowledges it, a viewer
cannot (no button, and a direct POST gets 403)."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from alerts.evaluator import Evaluator
from alerts.sinks.console import ConsoleFeed
from alerts.targets import Targets
from streams.console.silencing import AlertSilences
from streams.kpi.config import KpiSettings
from streams.kpi.store_redis import RedisKpiStore
from tests.streams.console.browser import chromium, low_interaction_rules, scenario
from tests.streams.console.conftest import (
    OPERATOR_TOKEN,
    ServerThread,
    fill_store,
    make_alert,
)

pytestmark = pytest.mark.integration
browser = pytest.fixture(chromium)


@pytest.fixture
def server(stack, settings):
    import redis.asyncio as aioredis

    prefix = f"t{uuid.uuid4().hex[:8]}"
    srv: ServerThread

    async def setup():
        client = aioredis.Redis.from_url(stack.redis_url)
        srv.cleanup.append(client.aclose)
        store = RedisKpiStore(client, KpiSettings(key_prefix=prefix))
        await fill_store(store, "room-1")
        await fill_store(store, "room-2", stage="traffic")
        result = await Evaluator(low_interaction_rules(), Targets.load()).evaluate(store)
        srv.alerts = [a for a in result.alerts if a.room_id == "room-1"]
        return {"store": store, "feed": ConsoleFeed(client, prefix=f"{prefix}:console")}

    srv = ServerThread(setup=setup, silences=AlertSilences(), targets=Targets.load(),
                       settings=settings)
    with srv:
        yield srv


def test_alert_appears_live_operator_acks_viewer_cannot(server, browser):
    feed = server.served.ctx.feed
    (first,) = server.alerts  # raised by the real evaluator on the room's KPIs in Redis
    assert first.rule == "low-interaction" and first.evidence.value == 0.0
    scenario(browser, server.served.url, first=first, second=make_alert(rule="low_cart"),
             send=lambda alerts: server.run(feed.send(alerts)),
             acks=lambda eps: server.run(feed.acks(eps)),
             screenshot=os.environ.get("ROOMPULSE_SCREENSHOT"), extra=[make_alert(
                 rule="traffic-below-target", room="room-2", severity="warning",
                 action_zh="加投推荐流，预热短视频引流",
                 action_en="Add budget to the recommendation feed; push the warm-up clips",
                 summary={"zh-CN": "room-2：平均停留时长为0.0分钟，低于目标2.5分钟",
                          "en": "room-2: average stay is 0.0 min, below the target 2.5 min "
                                "(15m window, minute 17 of the broadcast)"})])


def test_a_banner_says_when_the_worker_cannot_read_or_apply_events(server, browser):
    """While the broker or Redis is gone the cards freeze and no alert fires: the page says so
    in the operator's language, and says nothing once the worker is current again."""
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.streams.console.browser import login

    problems: list[str] = []
    server.served.ctx.status = lambda: list(problems)
    login(browser, server.served.url, OPERATOR_TOKEN)
    banner = "return [document.getElementById('pipeline').hidden, " \
             "document.getElementById('pipeline').innerText]"
    assert browser.execute_script(banner)[0] is True
    problems.append("kafka_down")  # the next poll (5 s) shows it
    WebDriverWait(browser, 20).until(lambda d: not d.execute_script(banner)[0])
    words = browser.execute_script(banner)[1]
    assert "Kafka 不可达" in words and "恢复后自动补齐" in words, words
    browser.find_element("id", "lang").click()  # English, at once
    assert "Kafka unreachable" in browser.execute_script(banner)[1]
    problems.clear()
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(banner)[0])


ROOMS = 1000


def seed_events(n: int, now_ms: int) -> list:
    """`n` live rooms (room-0001 ...), each started 20 minutes ago with a few viewers."""
    from schemas.events import EVENT_ADAPTER

    out = []
    for i in range(1, n + 1):
        room, t0 = f"room-{i:04d}", now_ms - 20 * 60_000
        raw = [("broadcast_start", 0, {}), ("stage_change", 1, {"stage": "conversion"}),
               ("phase_change", 2, {"phase": "live"}),
               ("room_exposure", 60_000, {"user_id": f"u{i}", "source": "search"}),
               ("enter", 60_001, {"user_id": f"u{i}", "source": "search"})]
        out += [EVENT_ADAPTER.validate_python(
            {"type": t, "event_id": f"{room}-{k}", "room_id": room, "ts": t0 + at,
             "brand_id": f"brand-{i % 7}", **extra}, context={"now_ms": now_ms})
            for k, (t, at, extra) in enumerate(raw)]
    return out


@pytest.fixture
def big_server(stack, settings):
    """The console over 1,000 live rooms in the real Redis, three of them with firing alerts."""
    import redis.asyncio as aioredis

    from streams.kpi.fold import BatchFolder

    prefix = f"t{uuid.uuid4().hex[:8]}"
    srv: ServerThread

    async def setup():
        client = aioredis.Redis.from_url(stack.redis_url)
        srv.cleanup.append(client.aclose)
        store = RedisKpiStore(client, KpiSettings(key_prefix=prefix))
        now_ms = int(time.time() * 1000)
        events = seed_events(ROOMS, now_ms)
        for i in range(0, len(events), 1000):  # one apply per 200 rooms
            folder = BatchFolder(store.settings)
            for e in events[i:i + 1000]:
                folder.add(e)
            await store.apply(folder.take(), {("seed", 0): i + 1000}, "console-test", now_ms)
        feed = ConsoleFeed(client, prefix=f"{prefix}:console")
        await feed.send(srv.alerts)
        return {"store": store, "feed": feed}

    srv = ServerThread(setup=setup, silences=AlertSilences(), targets=Targets.load(),
                       settings=settings)
    # Two alerts in room-0500, one each in room-0999 and room-0007: alerts-first order puts
    # 0500 first, then 0007 and 0999 (ties by room id), then the quiet rooms by id.
    srv.alerts = [make_alert(rule="low_ctr", room="room-0500", severity="critical"),
                  make_alert(rule="low_cart", room="room-0500"),
                  make_alert(rule="low_ctr", room="room-0999", severity="critical"),
                  make_alert(rule="low_ctr", room="room-0007")]
    with srv:
        yield srv


def test_overview_with_1000_rooms_pages_filters_and_puts_alerts_first(big_server, browser):
    from tests.streams.console.browser import click, login, wait_overview

    alerting = ["room-0500", "room-0007", "room-0999"]  # most firing alerts first, then by id
    by_id = [f"room-{i:04d}" for i in range(1, ROOMS + 1)]
    order = alerting + [r for r in by_id if r not in alerting]
    login(browser, big_server.served.url, OPERATOR_TOKEN, room="room-0500")
    # Each wait is for the exact page: a fetch still in flight from before a click may render
    # once more before the one the click started.
    # Only the visible page is in the DOM: 60 cards of 1,000, the alerting rooms first.
    first = wait_overview(browser, lambda o: o["rooms"] == order[:60])
    assert first["range"] == "1–60 / 共 1000"
    assert [b != "" for b in first["badges"][:4]] == [True, True, True, False]
    assert "2" in first["badges"][0]  # room-0500's two alerts

    # The next page: the next 60 rooms, still 60 cards in the DOM.
    click(browser, "#room-next")
    nxt = wait_overview(browser, lambda o: o["rooms"] == order[60:120])
    assert nxt["range"] == "61–120 / 共 1000"

    # Firing only: the three alerting rooms and nothing else.
    click(browser, "#room-firing")
    firing = wait_overview(browser, lambda o: o["rooms"] == alerting)
    assert firing["range"] == "1–3 / 共 3"

    # By room id (alerts first off), then a text filter: room-09xx is 100 rooms, 60 shown.
    click(browser, "#room-firing")
    click(browser, "#room-by-alerts")
    plain = wait_overview(browser, lambda o: o["rooms"] == by_id[:60])
    assert plain["range"] == "1–60 / 共 1000"
    browser.find_element("id", "room-filter").send_keys("room-09")
    found = wait_overview(browser, lambda o: o["rooms"] == by_id[899:959])
    assert found["range"] == "1–60 / 共 100"
    assert browser.execute_script("return document.querySelectorAll('#rooms article').length") \
        == 60
