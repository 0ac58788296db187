"""The console as the real worker serves it: `roompulse worker` in a subprocess, alerts and KPIs
written to the shared Redis by this process (as the alerting leader and the KPI loop would)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid

import pytest
import redis.asyncio as aioredis

from alerts.evaluator import Evaluator
from alerts.targets import Targets
from streams.console.install import console_feed
from streams.kpi.config import KpiSettings
from streams.kpi.store_redis import RedisKpiStore
from tests.streams.console.browser import chromium, low_interaction_rules, scenario
from tests.streams.console.conftest import OPERATOR_TOKEN, VIEWER_TOKEN, fill_store, make_alert
from tests.streams.worker.procs import WorkerProc, new_group, worker_env

pytestmark = pytest.mark.integration
browser = pytest.fixture(chromium)
NOT_WIRED = ("the worker does not serve the console yet: create_app must call "
             "streams.console.install.install_worker_console (see docs/console.md)")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def worker(stack, topic_settings, browser, tmp_path):
    prefix = f"k{uuid.uuid4().hex[:10]}"
    # This test plays the alerting leader itself; the worker's own evaluator gets no rules so
    # the feed holds exactly the alerts the test sends.
    (tmp_path / "rules.yaml").write_text("rules: []\n")
    env = worker_env(stack, topic_settings, prefix, new_group(),
                     ROOMPULSE_ALERTS_RULES=str(tmp_path / "rules.yaml"),
                     ROOMPULSE_CONSOLE_OPERATOR_TOKENS=json.dumps({"alice": OPERATOR_TOKEN}),
                     ROOMPULSE_CONSOLE_VIEWER_TOKENS=json.dumps({"bob": VIEWER_TOKEN}))
    proc = WorkerProc(env)
    try:
        asyncio.run(proc.wait_ready())
        if _status(proc.url + "/console/") == 404:
            pytest.skip(NOT_WIRED)
        yield proc, prefix
    finally:
        proc.stop()


def on_redis(stack, use):
    """Run `use(client)` on a fresh client and loop (the test thread drives a blocking browser)."""
    async def go():
        client = aioredis.Redis.from_url(stack.redis_url)
        try:
            return await use(client)
        finally:
            await client.aclose()
    return asyncio.run(go())


def test_worker_serves_the_console(stack, worker, browser):
    proc, prefix = worker

    async def prepare(client):
        store = RedisKpiStore(client, KpiSettings(key_prefix=prefix))
        await fill_store(store, "room-1")
        return (await Evaluator(low_interaction_rules(), Targets.load()).evaluate(store)).alerts

    (first,) = on_redis(stack, prepare)
    scenario(browser, proc.url + "/console", first=first, second=make_alert(rule="low_cart"),
             send=lambda alerts: on_redis(stack, lambda c: console_feed(c, prefix).send(alerts)),
             acks=lambda eps: on_redis(stack, lambda c: console_feed(c, prefix).acks(eps)))
