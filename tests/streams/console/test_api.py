"""The console's HTTP API on a real server: login, roles, CSRF, the feed, silences, no leaked
secrets; with everything in memory, and on a real Redis Cluster wired as the worker wires it."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import orjson
import pytest
import pytest_asyncio
from pydantic import SecretStr

from alerts.sinks.console import MemoryConsoleFeed
from streams.alerting.redis_state import RedisSilenceStore
from streams.console.install import console_feed, console_prefix
from streams.console.sessions import RedisRevocations
from streams.console.settings import ConsoleSettings
from streams.console.silencing import AlertSilences
from streams.kpi.config import KpiSettings
from streams.kpi.store_cluster import kpi_store
from streams.kpi.store_memory import InMemoryKpiStore
from streams.settings import RedisSettings
from streams.worker.app import redis_client
from tests.streams.console.conftest import (
    OPERATOR_TOKEN,
    SECRETS,
    VIEWER_TOKEN,
    fill_store,
    make_alert,
    serve_console,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
seen_bodies: list[str] = []


@pytest.fixture(params=["memory", "cluster"])
def backend(request):
    # Started outside the event loop (the cluster's start-up is blocking).
    return request.getfixturevalue("redis_cluster") if request.param == "cluster" else None


@pytest_asyncio.fixture(loop_scope="session")
async def console(settings, backend):
    if backend is None:
        store = InMemoryKpiStore()
        await fill_store(store, "room-1")
        async with serve_console(store=store, feed=MemoryConsoleFeed(), silences=AlertSilences(),
                                 settings=settings) as served:
            yield served
        return
    # As install_worker_console wires it: KPIs, feed, silences and revoked sessions in Redis.
    redis = redis_client(RedisSettings(url=SecretStr(backend.url), cluster=True))
    prefix = f"t{uuid.uuid4().hex[:8]}"
    store = kpi_store(redis, KpiSettings(key_prefix=prefix))
    try:
        await fill_store(store, "room-1")
        async with serve_console(
                store=store, feed=console_feed(redis, prefix),
                silences=AlertSilences(RedisSilenceStore(redis, f"{prefix}:alerts")),
                revocations=RedisRevocations(redis, console_prefix(prefix)),
                settings=settings) as served:
            yield served
    finally:
        await redis.aclose()


def client() -> aiohttp.ClientSession:
    # unsafe=True: keep cookies for an IP host (127.0.0.1), as a browser does.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def call(http, method, url, **kw):
    async with http.request(method, url, **kw) as r:
        text = await r.text()
        seen_bodies.append(text + str(r.headers))
        return r.status, (orjson.loads(text) if r.content_type == "application/json" else text), r


async def login(http, base, token):
    status, me, r = await call(http, "POST", f"{base}/api/login", json={"token": token})
    assert status == 200
    return me, r


async def test_page_and_assets_are_served_with_a_strict_policy(console):
    async with client() as http:
        status, html, r = await call(http, "GET", f"{console.url}/")
        assert status == 200 and "static/app.js" in html
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        for name in ("app.js", "rooms.js", "feed.js", "app.css", "i18n.js"):
            status, _, _ = await call(http, "GET", f"{console.url}/static/{name}")
            assert status == 200
        status, _, _ = await call(http, "GET", f"{console.url}/static/..%2Fsettings.py")
        assert status == 404


async def test_api_needs_a_login_and_a_known_token(console):
    async with client() as http:
        for path in ("me", "status", "overview", "alerts", "silences", "rooms/room-1", "stream"):
            status, _, _ = await call(http, "GET", f"{console.url}/api/{path}")
            assert status == 401, path
        status, body, _ = await call(http, "POST", f"{console.url}/api/login",
                                     json={"token": "wrong"})
        assert status == 401 and body["error"] == "bad_token"


async def test_login_sets_a_strict_httponly_cookie_and_returns_csrf(console):
    async with client() as http:
        me, r = await login(http, console.url, OPERATOR_TOKEN)
        assert (me["name"], me["role"]) == ("alice", "operator") and me["csrf"]
        cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        status, again, _ = await call(http, "GET", f"{console.url}/api/me")
        assert status == 200 and again["csrf"] == me["csrf"]


async def test_status_says_what_keeps_the_worker_from_being_current(console):
    async with client() as http:
        await login(http, console.url, VIEWER_TOKEN)
        status, body, _ = await call(http, "GET", f"{console.url}/api/status")
        assert status == 200 and body["problems"] == [] and body["now_ms"] > 0
        console.ctx.status = lambda: ["kafka_down"]
        try:
            status, body, _ = await call(http, "GET", f"{console.url}/api/status")
        finally:
            console.ctx.status = lambda: []
        assert status == 200 and body["problems"] == ["kafka_down"]


async def test_overview_and_room_page(console):
    async with client() as http:
        await login(http, console.url, VIEWER_TOKEN)
        status, body, _ = await call(http, "GET", f"{console.url}/api/overview?history=1")
        assert status == 200
        (room,) = body["rooms"]
        assert (room["room_id"], room["stage"], room["phase"], room["live"]) == (
            "room-1", "conversion", "live", True)
        # Stream time: the last event came 17.25 minutes after broadcast_start.
        assert room["minutes_since_start"] == pytest.approx(17.25, abs=0.01)
        assert room["online_viewers"] == 40
        assert {k["kpi"] for k in room["kpis"]} >= {"ctr", "order_rate"}
        assert len(room["history"]["ctr"]) == 30
        status, page, _ = await call(http, "GET", f"{console.url}/api/rooms/room-1?window=30m")
        assert status == 200
        funnel = {s["step"]: s for s in page["funnel"]}
        assert funnel["exposures"]["value"] == 80 and funnel["entries"]["rate"] == 0.5
        assert funnel["orders"]["value"] == 5
        pinned = [p for p in page["products"] if p["pinned"]]
        assert [p["product_id"] for p in pinned] == ["p1"] and page["products"][0]["pinned"]
        assert {s["source"] for s in page["sources"]} == {"recommend", "search"}
        assert (await call(http, "GET", f"{console.url}/api/rooms/nope"))[0] == 404
        assert (await call(http, "GET", f"{console.url}/api/rooms/room-1?window=7x"))[0] == 400


async def test_operator_acknowledges_with_csrf_only(console):
    alert = make_alert(rule="ack_rule")
    await console.ctx.feed.send([alert])
    url = f"{console.url}/api/alerts/{alert.fingerprint}/ack"
    async with client() as http:
        me, _ = await login(http, console.url, OPERATOR_TOKEN)
        assert (await call(http, "POST", url))[0] == 403  # no CSRF header
        assert (await call(http, "POST", url, headers={"X-CSRF-Token": "x" + me["csrf"]}))[0] == 403
        evil = {"X-CSRF-Token": me["csrf"], "Origin": "http://evil.example"}
        assert (await call(http, "POST", url, headers=evil))[0] == 403
        status, body, _ = await call(http, "POST", url, headers={"X-CSRF-Token": me["csrf"]})
        assert status == 200 and body["ack"]["by"] == "alice"
        _, feed, _ = await call(http, "GET", f"{console.url}/api/alerts")
        entry = next(e for e in feed["events"] if e["kind"] == "alert"
                     and e["alert"]["fingerprint"] == alert.fingerprint)
        assert entry["ack"]["by"] == "alice" and entry["ack"]["at_ms"] > 0
        gone = f"{console.url}/api/alerts/ffffffffffffffff/ack"
        assert (await call(http, "POST", gone, headers={"X-CSRF-Token": me["csrf"]}))[0] == 404


async def test_viewer_cannot_acknowledge_or_silence(console):
    alert = make_alert(rule="viewer_rule")
    await console.ctx.feed.send([alert])
    async with client() as http:
        me, _ = await login(http, console.url, VIEWER_TOKEN)
        h = {"X-CSRF-Token": me["csrf"]}
        ack = f"{console.url}/api/alerts/{alert.fingerprint}/ack"
        status, body, _ = await call(http, "POST", ack, headers=h)
        assert status == 403 and body["error"] == "forbidden"
        status, _, _ = await call(http, "POST", f"{console.url}/api/silences", headers=h,
                                  json={"rule": "viewer_rule", "room_id": "room-1", "minutes": 5})
        assert status == 403
    assert await console.ctx.feed.acks([(alert.fingerprint, alert.starts_at)]) == {}
    assert await console.ctx.silences.active(console.ctx.now_ms()) == []


async def test_operator_silences_a_rule_for_a_room(console):
    async with client() as http:
        me, _ = await login(http, console.url, OPERATOR_TOKEN)
        h = {"X-CSRF-Token": me["csrf"]}
        url = f"{console.url}/api/silences"
        assert (await call(http, "POST", url, json={"rule": "r", "room_id": "room-1",
                                                    "minutes": 5}))[0] == 403
        for bad in ({"rule": "r", "room_id": "room-1", "minutes": 0},
                    {"rule": "r", "room_id": "room-1", "minutes": "5"},
                    {"rule": "", "room_id": "room-1", "minutes": 5}):
            assert (await call(http, "POST", url, headers=h, json=bad))[0] == 400
        status, body, _ = await call(http, "POST", url, headers=h,
                                     json={"rule": "low_ctr", "room_id": "room-1", "minutes": 30})
        assert status == 201
        s = body["silence"]
        assert (s["rule"], s["room_id"], s["created_by"]) == ("low_ctr", "room-1", "alice")
        assert s["ends_ms"] - s["created_ms"] == 30 * 60_000
        _, listed, _ = await call(http, "GET", url)
        assert [x["id"] for x in listed["silences"]] == [s["id"]]
        # The alert engine's own store holds it, as a matcher on rule and room.
        (stored,) = await console.ctx.silences.store.list()
        assert {(m.name, m.value) for m in stored.matchers} == {("rule", "low_ctr"),
                                                                ("room_id", "room-1")}


async def test_stream_pushes_new_alerts_and_acks(console):
    async with client() as http:
        _me, _ = await login(http, console.url, OPERATOR_TOKEN)
        async with http.get(f"{console.url}/api/stream") as r:
            assert r.status == 200 and r.content_type == "text/event-stream"
            alert = make_alert(rule="sse_rule")
            await console.ctx.feed.send([alert])
            await console.ctx.feed.ack(alert.fingerprint, "alice")
            events = []
            while len(events) < 2:
                line = (await asyncio.wait_for(r.content.readline(), 10)).decode()
                if line.startswith("data: "):
                    events.append(orjson.loads(line[6:]))
        assert [e["kind"] for e in events] == ["alert", "ack"]
        assert events[0]["alert"]["action"]["zh-CN"] and events[1]["by"] == "alice"


async def test_trusted_proxy_header_identity():
    settings = ConsoleSettings(trust_proxy_header=True)
    alert = make_alert(rule="proxy_rule")
    feed = MemoryConsoleFeed()
    await feed.send([alert])
    async with serve_console(store=InMemoryKpiStore(), feed=feed, silences=AlertSilences(),
                             settings=settings) as served, client() as http:
        carol = {"X-Forwarded-User": "carol", "X-Forwarded-Role": "operator"}
        status, me, _ = await call(http, "GET", f"{served.url}/api/me", headers=carol)
        assert status == 200 and me["role"] == "operator"
        url = f"{served.url}/api/alerts/{alert.fingerprint}/ack"
        assert (await call(http, "POST", url, headers=carol))[0] == 403  # still needs CSRF
        # Carol's cookie does not make someone else's request an operator's.
        dave = {"X-Forwarded-User": "dave", "X-Forwarded-Role": "viewer",
                "X-CSRF-Token": me["csrf"]}
        assert (await call(http, "POST", url, headers=dave))[0] == 401
        status, body, _ = await call(http, "POST", url,
                                     headers={**carol, "X-CSRF-Token": me["csrf"]})
        assert status == 200 and body["ack"]["by"] == "carol"


async def test_failed_logins_are_throttled_and_tokens_never_logged(console, caplog):
    caplog.set_level("DEBUG")
    async with client() as http:
        for _ in range(10):
            assert (await call(http, "POST", f"{console.url}/api/login",
                               json={"token": VIEWER_TOKEN + "x"}))[0] == 401
        status, body, _ = await call(http, "POST", f"{console.url}/api/login",
                                     json={"token": OPERATOR_TOKEN})
        assert status == 429 and body["error"] == "throttled"
    assert "failed login" in caplog.text
    assert not any(secret in caplog.text for secret in SECRETS)


async def test_stream_resumes_after_last_event_id(console):
    feed = console.ctx.feed
    await feed.send([make_alert(rule="before")])
    mark = await feed.last_id()
    await feed.send([make_alert(rule="missed-1"), make_alert(rule="missed-2")])
    async with client() as http:
        await login(http, console.url, VIEWER_TOKEN)
        async with http.get(f"{console.url}/api/stream", headers={"Last-Event-ID": mark}) as r:
            rules = []
            while len(rules) < 2:
                line = (await asyncio.wait_for(r.content.readline(), 10)).decode()
                if line.startswith("data: "):
                    rules.append(orjson.loads(line[6:])["alert"]["rule"])
    assert rules == ["missed-1", "missed-2"]


async def test_server_stops_with_a_stream_open(settings):
    async with client() as http:
        async with serve_console(store=InMemoryKpiStore(), feed=MemoryConsoleFeed(),
                                 silences=AlertSilences(), settings=settings) as served:
            await login(http, served.url, VIEWER_TOKEN)
            r = await http.get(f"{served.url}/api/stream")
            assert r.status == 200
            await r.content.readline()  # the stream is open
        # Leaving the block stopped the server although a client held a stream open: the
        # stream ended cleanly instead of holding the shutdown.
        rest = await asyncio.wait_for(r.content.read(), 10)
        assert b"data:" not in rest
        assert served.ctx.streams == set()
        r.release()


async def test_no_secret_in_any_response():
    # Runs last in this module: every body and header the tests above received is checked.
    assert seen_bodies
    for text in seen_bodies:
        for secret in SECRETS:
            assert secret not in text


async def test_overview_pages_filters_and_puts_firing_rooms_first(settings):
    store = InMemoryKpiStore()
    for i in range(7):
        await fill_store(store, f"room-{i}", stage="traffic" if i % 2 else "conversion")
    feed = MemoryConsoleFeed()
    await feed.send([make_alert(rule="r1", room="room-5"), make_alert(rule="r2", room="room-5"),
                     make_alert(rule="r1", room="room-3")])
    async with serve_console(store=store, feed=feed, silences=AlertSilences(),
                             settings=settings) as served, client() as http:
        await login(http, served.url, VIEWER_TOKEN)
        url = f"{served.url}/api/overview"
        status, body, _ = await call(http, "GET", f"{url}?limit=3&sort=alerts")
        assert status == 200 and body["total"] == 7 and body["limit"] == 3
        assert [(r["room_id"], r["firing"]) for r in body["rooms"]] == [
            ("room-5", 2), ("room-3", 1), ("room-0", 0)]
        _, body, _ = await call(http, "GET", f"{url}?limit=3&offset=6")
        assert [r["room_id"] for r in body["rooms"]] == ["room-6"]
        _, body, _ = await call(http, "GET", f"{url}?alert=firing")
        assert [r["room_id"] for r in body["rooms"]] == ["room-3", "room-5"]
        _, body, _ = await call(http, "GET", f"{url}?q=ROOM-4")
        assert [r["room_id"] for r in body["rooms"]] == ["room-4"] and body["total"] == 1
        for bad in ("limit=0", "limit=201", "offset=-1", "limit=x", "sort=gmv", "q=" + "x" * 101):
            assert (await call(http, "GET", f"{url}?{bad}"))[0] == 400, bad
