"""The worker's HTTP API on a real port over a real valkey: /api/rooms paged and filtered,
bearer tokens, security headers, and /metrics bounded with the cut said in metrics."""

from __future__ import annotations

import uuid

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from redis.exceptions import RedisError

from streams.kpi.config import KpiSettings
from streams.kpi.store_redis import RedisKpiStore
from streams.worker.api import WorkerApi
from streams.worker.apisettings import ApiSettings
from streams.worker.metrics import KpiCollector
from tests.streams.rooms import seed_rooms, serve

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
START = 1_767_240_000_000
N = 300
API_TOKEN, METRICS_TOKEN = "api-tok-3b9d7e1f", "prom-tok-8c2a5f0e"


@pytest.fixture(scope="module")
async def seeded(stack):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    r = aioredis.from_url(stack.redis_url)
    rooms = await seed_rooms(RedisKpiStore(r, KpiSettings(key_prefix=prefix)), N, START, 3)
    await r.aclose()
    return stack.redis_url, prefix, rooms


@pytest.fixture
async def store(seeded):
    url, prefix, _ = seeded
    r = aioredis.from_url(url)
    yield RedisKpiStore(r, KpiSettings(key_prefix=prefix))
    await r.aclose()


def api_for(store, settings: ApiSettings, registry=None, alerts=None,
            collector: bool = False) -> WorkerApi:
    registry = registry or CollectorRegistry()
    kc = None
    if collector:
        kc = KpiCollector(store, ["5m"], top_n=5)
        registry.register(kc)

    async def problems() -> list[str]:
        return []

    return WorkerApi(store, settings, registry=registry, collector=kc,
                     redis_errors=(RedisError, OSError), problems=problems,
                     alert_states=(lambda: alerts) if alerts is not None else None)


async def get(http, url, **kw):
    async with http.get(url, **kw) as r:
        body = await r.read()
        return r.status, r.headers, body


async def test_rooms_come_in_pages_that_cover_every_room_once(store, seeded):
    rooms = seeded[2]
    async with serve(api_for(store, ApiSettings()).routes()) as base, \
            aiohttp.ClientSession() as http:
        status, headers, body = await get(http, f"{base}/api/rooms?limit=70")
        assert status == 200
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        seen, url = [], f"{base}/api/rooms?limit=70"
        while True:
            async with http.get(url) as r:
                doc = await r.json()
            assert len(doc["rooms"]) <= 70
            seen += [x["room_id"] for x in doc["rooms"]]
            if doc["next_cursor"] is None:
                break
            url = f"{base}/api/rooms?limit=70&cursor={doc['next_cursor']}"
        assert seen == sorted(rooms)
        async with http.get(f"{base}/api/rooms?offset=295&limit=10") as r:
            doc = await r.json()
        assert [x["room_id"] for x in doc["rooms"]] == sorted(rooms)[295:]
        assert doc["next_cursor"] is None
        for bad in ("limit=0", "limit=100000", "offset=-1", "cursor=%%%", "alert=burning",
                    "limit=x", "cursor=abc&offset=1"):
            status, _, body = await get(http, f"{base}/api/rooms?{bad}")
            assert status == 400, (bad, body)


async def test_rooms_filter_by_brand_stage_phase_and_alert_state(store, seeded):
    rooms = sorted(seeded[2])
    alerts = {rooms[3]: "firing", rooms[8]: "pending"}
    async with serve(api_for(store, ApiSettings(), alerts=alerts).routes()) as base, \
            aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/rooms?brand=b2&stage=retention&limit=500") as r:
            doc = await r.json()
        # brand = i % 5 == 2 and stage = i % 3 == 2
        assert [x["room_id"] for x in doc["rooms"]] == [
            f"room-{i:05d}" for i in range(N) if i % 5 == 2 and i % 3 == 2]
        assert all(x["phase"] == "live" for x in doc["rooms"])
        async with http.get(f"{base}/api/rooms?alert=firing") as r:
            doc = await r.json()
        assert [(x["room_id"], x["alert_state"]) for x in doc["rooms"]] == [(rooms[3], "firing")]
        async with http.get(f"{base}/api/rooms?alert=pending") as r:
            assert [x["room_id"] for x in (await r.json())["rooms"]] == [rooms[8]]
        async with http.get(f"{base}/api/rooms?phase=replay") as r:
            assert (await r.json())["rooms"] == []


async def test_tokens_guard_the_api_and_metrics_but_not_the_probes(store):
    settings = ApiSettings(tokens=SecretStr(f"other-tok, {API_TOKEN}"),
                           metrics_token=SecretStr(METRICS_TOKEN))
    async with serve(api_for(store, settings).routes()) as base, \
            aiohttp.ClientSession() as http:
        room = "room-00001"
        for path in ("/api/rooms", f"/api/rooms/{room}/kpis", f"/api/rooms/{room}/products",
                     f"/api/rooms/{room}/sources"):
            status, headers, body = await get(http, base + path)
            assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
            assert API_TOKEN.encode() not in body
            status, *_ = await get(http, base + path,
                                   headers={"Authorization": "Bearer wrong"})
            assert status == 401
            status, *_ = await get(http, base + path,
                                   headers={"Authorization": f"Bearer {API_TOKEN}"})
            assert status == 200, path
        status, *_ = await get(http, f"{base}/metrics",
                               headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert status == 401  # the API token is not the metrics token
        status, headers, _ = await get(http, f"{base}/metrics",
                                       headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert status == 200 and headers["X-Content-Type-Options"] == "nosniff"
        for path in ("/healthz", "/readyz"):
            status, *_ = await get(http, base + path)
            assert status == 200


def samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for fam in text_string_to_metric_families(text):
        out.setdefault(fam.name, []).extend(fam.samples)
    return out


async def test_metrics_export_at_most_the_cap_and_say_what_they_cut(store):
    registry = CollectorRegistry()
    settings = ApiSettings(metrics_max_rooms=40, metrics_max_series=900)
    api = api_for(store, settings, registry=registry, collector=True)
    async with serve(api.routes()) as base, aiohttp.ClientSession() as http:
        status, _, body = await get(http, f"{base}/metrics")
    assert status == 200
    s = samples(body.decode())
    assert len(s["roompulse_room_info"]) == 40
    kpi_series = sum(len(s[k]) for k in ("roompulse_room_kpi", "roompulse_product_kpi",
                                         "roompulse_source_kpi"))
    assert kpi_series == 900
    cut = {x.labels["reason"]: x.value for x in s["roompulse_metrics_truncated"]}
    assert cut == {"rooms": 1.0, "series": 1.0, "time": 0.0}
    assert registry.get_sample_value("roompulse_metrics_kpi_rooms_dropped") == N - 40
    assert registry.get_sample_value("roompulse_metrics_kpi_series_dropped") > 0
    # a budget too small for even one batch: the cut is said, not hidden
    api.collector.limit(max_rooms=N, max_series=10**6, budget_s=1e-9)
    await api.collector.refresh()
    assert registry.get_sample_value("roompulse_metrics_truncated", {"reason": "time"}) == 1
    assert registry.get_sample_value("roompulse_metrics_kpi_rooms_dropped") == N


async def test_a_scrape_without_redis_still_serves_worker_metrics_and_says_kpis_are_stale():
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    store = RedisKpiStore(dead, KpiSettings(key_prefix="x"))
    registry = CollectorRegistry()
    api = api_for(store, ApiSettings(), registry=registry, collector=True)
    async with serve(api.routes()) as base, aiohttp.ClientSession() as http:
        status, _, body = await get(http, f"{base}/metrics")
        assert status == 200 and b"roompulse_metrics_kpi_stale 1.0" in body
        status, _, body = await get(http, f"{base}/api/rooms")
        assert status == 503 and b"Redis unavailable" in body
    assert registry.get_sample_value("roompulse_metrics_kpi_refresh_errors_total") == 1
    await dead.aclose()


async def test_an_expired_listing_is_served_while_the_next_one_is_read():
    import asyncio

    from schemas.kpis import RoomState
    from streams.worker.roomlist import RoomIndex

    now = [0.0]
    gate = asyncio.Event()
    reads = []

    async def read():
        reads.append(len(reads))
        if len(reads) > 1:
            await gate.wait()  # a slow listing
        if len(reads) == 3:
            raise ConnectionError("Redis went away")
        return [RoomState(room_id=f"r{len(reads)}")]

    index = RoomIndex(read, ttl_s=1.0, clock=lambda: now[0])
    assert (await index.rooms())[1] == ["r1"]
    now[0] = 5.0
    assert (await index.rooms())[1] == ["r1"]  # served at once, the new one is being read
    await asyncio.sleep(0)
    assert (await index.rooms())[1] == ["r1"] and len(reads) == 2  # one read in flight only
    gate.set()
    await asyncio.sleep(0.01)
    assert (await index.rooms())[1] == ["r2"]
    now[0] = 10.0
    await index.rooms()
    await asyncio.sleep(0.01)
    assert (await index.rooms())[1] == ["r2"] and index.failures == 1  # kept after a failure
    await index.close()
