"""Alerts while the Kafka broker is cut off from a real worker (a proxy cuts every connection).

Two things went wrong here before. Every live room went silent with the broker, so three
seconds in, `room-stalled` ("check the stream now") fired for every room although nothing was
known about the rooms. And an alert in flight held the whole notification pipeline: the alerts
topic is the first receiver of each tick and a Kafka send waits for the broker (Faust's producer
request timeout is 20 minutes), so the console and the chat nudges behind it got nothing and no
evaluation ran until the broker came back.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from streams.bench import workload
from streams.kpi.store_redis import RedisKpiStore
from streams.simulator.config import SimConfig
from streams.simulator.generate import Simulation
from streams.worker.app import redis_client
from tests.streams.console.conftest import VIEWER_TOKEN
from tests.streams.worker.conftest import wait_for
from tests.streams.worker.procs import WorkerProc, new_group, worker_env
from tests.streams.worker.test_broker_outage import proxied  # noqa: F401 - a fixture

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
STALLED_RULE = """rules:
  - id: room-stalled
    kind: no_data
    after: {after}
    severity: critical
    audience: [control_room, ops]
    action: {{zh-CN: 立即检查推流和网络, en: Check the stream and the network now}}
"""


async def _metric(proc: WorkerProc, name: str, **labels: str) -> float:
    """The sum of `name`'s samples carrying `labels`, as the worker's /metrics says now."""
    async with aiohttp.ClientSession() as http, http.get(proc.url + "/metrics") as r:
        text = await r.text()
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples
               if s.name == name and labels.items() <= s.labels.items())


async def _console(proc: WorkerProc) -> float:
    return await _metric(proc, "roompulse_alert_sink_deliveries_total", sink="console",
                         outcome="sent")


async def _live_rooms_cut(proxied, kpi_settings, tmp_path, after: str,  # noqa: F811
                          **env: str) -> WorkerProc:
    """A worker applies the first minute of two live broadcasts ending now; then the proxy
    cuts the broker. The caller stops the worker."""
    ours, topics, proxy = proxied
    rules = tmp_path / "rules.yaml"
    rules.write_text(STALLED_RULE.format(after=after), encoding="utf-8")
    group = new_group()
    # Alert state of its own: another test's worker may have had rooms of the same names.
    proc = WorkerProc(worker_env(ours, topics, kpi_settings.key_prefix, group,
                                 ROOMPULSE_ALERTS_RULES=str(rules),
                                 ROOMPULSE_ALERTS_KEY_PREFIX=f"{kpi_settings.key_prefix}:alerts",
                                 ROOMPULSE_CONSOLE_VIEWER_TOKENS=json.dumps({"bob": VIEWER_TOKEN}),
                                 **env))
    client = redis_client(ours.redis)
    store = RedisKpiStore(client, kpi_settings)
    now = int(time.time() * 1000)
    sim = Simulation(SimConfig(start_ms=now - 60_000, rooms=2, seed=3, duration_min=10,
                               exposures_per_min=200))
    messages = [(kind, key, value) for kind, key, value, _ in itertools.takewhile(
        lambda m: m[3] <= now,
        ((m.kind, m.key, m.value, m.ts) for m in sim.messages() if m.expect is None))]
    try:
        await proc.wait_ready()
        await workload.produce(ours.kafka, topics, messages)

        async def applied() -> bool:
            return sum((await store.load_offsets(group)).values()) >= len(messages)

        await wait_for(applied, 30, "the broadcast applied")
        await proxy.cut()
    except BaseException:
        proc.stop()
        raise
    finally:
        await client.aclose()
    return proc


async def test_an_outage_is_not_every_rooms_silence(proxied, kpi_settings,  # noqa: F811
                                                    tmp_path):
    ours, topics, proxy = proxied
    proc = await _live_rooms_cut(proxied, kpi_settings, tmp_path, "15s")
    try:
        try:
            await wait_for(lambda: "Kafka broker unavailable" in proc.output(), 10,
                           "the outage noticed")
            ticks = await _metric(proc, "roompulse_alert_rooms_evaluated_total")
            # The console says why its cards stopped moving.
            assert await _console_problems(proc) == ["kafka_down"]
            await asyncio.sleep(20)  # the rooms' 15 s would have run out meanwhile
            assert await _console(proc) == 0, "room-stalled fired on the outage"
            assert await _metric(proc, "roompulse_alert_rooms_evaluated_total") > ticks
            # Back, and the rooms are silent for real (no event came meanwhile): the clock
            # runs on from where it stopped, and the silence is seen.
            await proxy.restore()
            await wait_for(lambda: _at_least(proc, 1), 30, "room-stalled after the outage")
            assert await _console_problems(proc) == []
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the worker said:\n{proc.output()}") from None
    finally:
        proc.stop()


async def test_alerts_in_flight_do_not_wait_for_the_broker(proxied, kpi_settings,  # noqa: F811
                                                           tmp_path):
    ours, topics, proxy = proxied
    # The watch has not said "down" yet (as in the first seconds of any outage), so the clock
    # runs on and room-stalled fires while the broker is cut: the topic sink's deadline is
    # what lets the alerts reach the console.
    proc = await _live_rooms_cut(proxied, kpi_settings, tmp_path, "5s",
                                 ROOMPULSE_WORKER_BROKER_SILENT_S="120")
    try:
        try:
            await wait_for(lambda: _at_least(proc, 2), 30, "room-stalled on the console")
            ticks = await _metric(proc, "roompulse_alert_rooms_evaluated_total")
            await wait_for(lambda: _more_ticks(proc, ticks), 10, "ticks after the alerts")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the worker said:\n{proc.output()}") from None
        assert await _metric(proc, "roompulse_alert_sink_deliveries_total",
                             sink="topic", outcome="sent") == 0  # nothing reached the broker
        assert await _metric(proc, "roompulse_alert_sink_deliveries_total",
                             sink="topic", outcome="unconfirmed") >= 1
        # The alerts the topic sink left in the producer's queue arrive once the broker is
        # back, each once: they were not sent again.
        await proxy.restore()
        alerts = await _read(ours, topics.alerts, 2)
        await asyncio.sleep(3)  # anything sent twice would be here by now
        alerts += await _read(ours, topics.alerts, 0, skip=len(alerts))
        assert sorted((a["rule"], a["room_id"], a["state"]) for a in alerts) == [
            ("room-stalled", "room-1", "firing"), ("room-stalled", "room-2", "firing")], [
            {k: a.get(k) for k in ("room_id", "state", "starts_at", "ends_at", "value")}
            for a in alerts]
    finally:
        proc.stop()


async def _console_problems(proc: WorkerProc) -> list[str]:
    """What the worker's console tells a logged-in viewer about its KPI loop."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(proc.url + "/console/api/login",
                             json={"token": VIEWER_TOKEN}) as r:
            assert r.status == 200, await r.text()
        async with http.get(proc.url + "/console/api/status") as r:
            return (await r.json())["problems"]


async def _at_least(proc: WorkerProc, n: int) -> bool:
    return await _console(proc) >= n


async def _more_ticks(proc: WorkerProc, than: float) -> bool:
    return await _metric(proc, "roompulse_alert_rooms_evaluated_total") > than


async def _read(ours, topic: str, n: int, *, skip: int = 0) -> list[dict]:
    """The messages of `topic` after the first `skip`, once at least `n` are there (20 s)."""
    consumer = AIOKafkaConsumer(topic, **ours.kafka.client_kwargs(),
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[dict] = []
    try:
        deadline = time.monotonic() + (20 if n else 2)
        while time.monotonic() < deadline and (len(out) < n + skip or not n):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out += [orjson.loads(r.value) for r in records]
    finally:
        await consumer.stop()
    return out[skip:]
