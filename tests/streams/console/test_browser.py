"""End to end in headless Chromium over the real Redis: the page loads, an alert the evaluator
raises on the room's real KPIs appears without a reload, an operator acknowledges it, a viewer
cannot (no button, and a direct POST gets 403)."""

from __future__ import annotations

import os
import uuid

import pytest

from alerts.evaluator import Evaluator
from alerts.sinks.console import ConsoleFeed
from alerts.targets import Targets
from streams.console.silencing import AlertSilences
from streams.kpi.config import KpiSettings
from streams.kpi.store_redis import RedisKpiStore
from tests.streams.console.browser import chromium, low_interaction_rules, scenario
from tests.streams.console.conftest import ServerThread, fill_store, make_alert

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
