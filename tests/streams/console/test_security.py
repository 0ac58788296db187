"""Console security on a real server: logout revokes the session (in the real Redis shared by
worker processes, one node and a Cluster), state changes only from allowed origins, ids with a
trailing newline refused."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import aiohttp
import orjson
import pytest

from alerts.sinks.console import MemoryConsoleFeed
from streams.console.auth import COOKIE
from streams.console.sessions import MemoryRevocations, RedisRevocations
from streams.console.settings import ConsoleSettings, normalize_origin
from streams.console.silencing import AlertSilences
from streams.kpi.store_memory import InMemoryKpiStore
from tests.streams.console.conftest import (
    OPERATOR_TOKEN,
    SESSION_SECRET,
    make_alert,
    serve_console,
)

aio = pytest.mark.asyncio(loop_scope="session")


@contextlib.asynccontextmanager
async def console(settings: ConsoleSettings, **kw):
    async with serve_console(store=InMemoryKpiStore(), feed=MemoryConsoleFeed(),
                             silences=AlertSilences(), settings=settings, **kw) as served:
        yield served


def client(cookie: str | None = None) -> aiohttp.ClientSession:
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for 127.0.0.1, as a browser does
    return aiohttp.ClientSession(cookie_jar=jar, cookies={COOKIE: cookie} if cookie else None)


async def call(http, method: str, url: str, **kw) -> tuple[int, dict | str]:
    async with http.request(method, url, **kw) as r:
        text = await r.text()
        return r.status, orjson.loads(text) if r.content_type == "application/json" else text


async def log_in(http, base: str) -> tuple[dict, str]:
    async with http.post(f"{base}/api/login", json={"token": OPERATOR_TOKEN}) as r:
        assert r.status == 200
        return await r.json(), r.cookies[COOKIE].value


def origin_of(served) -> str:
    return served.url.split("/console")[0]


@aio
async def test_logout_revokes_the_session_not_just_the_browser_cookie(settings):
    async with console(settings) as served:
        async with client() as http:
            me, cookie = await log_in(http, served.url)
            status, _ = await call(http, "POST", f"{served.url}/api/logout",
                                   headers={"X-CSRF-Token": me["csrf"],
                                            "Origin": origin_of(served)})
            assert status == 200
        # The same cookie, copied before the logout, no longer opens anything.
        async with client(cookie) as stolen:
            assert (await call(stolen, "GET", f"{served.url}/api/me"))[0] == 401
            assert (await call(stolen, "GET", f"{served.url}/api/alerts"))[0] == 401
            status, _ = await call(stolen, "POST", f"{served.url}/api/silences",
                                   headers={"X-CSRF-Token": me["csrf"]},
                                   json={"rule": "r", "room_id": "room-1", "minutes": 5})
            assert status == 401
        async with client() as again:  # logging in again gives a new, working session
            await log_in(again, served.url)
            assert (await call(again, "GET", f"{served.url}/api/me"))[0] == 200


@aio
async def test_an_open_alert_stream_ends_at_logout(settings):
    async with console(settings) as served:
        served.ctx.block_ms = 100
        async with client() as http:
            me, cookie = await log_in(http, served.url)
            async with client(cookie) as watcher, \
                    watcher.get(f"{served.url}/api/stream") as stream:
                assert stream.status == 200
                await call(http, "POST", f"{served.url}/api/logout",
                           headers={"X-CSRF-Token": me["csrf"]})
                body = await asyncio.wait_for(stream.content.read(), 5)
        assert b"event: expired" in body


@pytest.mark.integration
@aio
async def test_a_logout_on_one_worker_holds_on_every_other(settings, redis_client):
    prefix = f"t{uuid.uuid4().hex[:8]}:console"
    async with console(settings, revocations=RedisRevocations(redis_client, prefix)) as a, \
            console(settings, revocations=RedisRevocations(redis_client, prefix)) as b:
        async with client() as http:
            me, cookie = await log_in(http, a.url)
            async with client(cookie) as on_b:  # same signing key: b accepts a's session
                assert (await call(on_b, "GET", f"{b.url}/api/me"))[0] == 200
                status, _ = await call(http, "POST", f"{a.url}/api/logout",
                                       headers={"X-CSRF-Token": me["csrf"]})
                assert status == 200
                assert (await call(on_b, "GET", f"{b.url}/api/me"))[0] == 401
        keys = [k async for k in redis_client.scan_iter(f"{prefix}:revoked:*")]
        assert len(keys) == 1
        ttl = await redis_client.ttl(keys[0])
        assert 0 < ttl <= settings.session_ttl_s + 1  # gone when the session would have ended


async def _ack(served, extra_headers: dict) -> int:
    alert = make_alert(rule=f"origin_{uuid.uuid4().hex[:6]}")
    await served.ctx.feed.send([alert])
    async with client() as http:
        me, _ = await log_in(http, served.url)
        status, _ = await call(http, "POST", f"{served.url}/api/alerts/{alert.fingerprint}/ack",
                               headers={"X-CSRF-Token": me["csrf"], **extra_headers})
        return status


@aio
async def test_the_origin_check_does_not_trust_the_host_header(settings):
    async with console(settings) as served:
        port = served.url.split(":")[2].split("/")[0]
        # DNS rebinding: the attacker's name resolves to 127.0.0.1, so Host matches Origin.
        rebound = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
        assert await _ack(served, rebound) == 403
        assert await _ack(served, {"Origin": "null"}) == 403
        assert await _ack(served, {"Origin": f"http://127.0.0.1:{int(port) + 1}"}) == 403
        assert await _ack(served, {"Origin": f"http://127.0.0.1:{port}"}) == 200
        assert await _ack(served, {"Origin": f"http://localhost:{port}"}) == 200
        assert await _ack(served, {}) == 200  # no Origin (not a browser): the CSRF token decides


@aio
async def test_configured_origins_are_the_only_ones_allowed(settings):
    behind_proxy = settings.model_copy(update={
        "allowed_origins": ("https://console.example.com",), "trust_proxy_header": True})
    async with console(behind_proxy) as served:
        ok = {"Origin": "https://console.example.com"}
        forwarded = {"Origin": "https://evil.example", "X-Forwarded-Host": "evil.example"}
        assert await _ack(served, ok) == 200
        assert await _ack(served, forwarded) == 403
        assert await _ack(served, {"Origin": origin_of(served)}) == 403  # loopback not listed


@aio
async def test_ids_with_a_trailing_newline_are_refused(settings):
    async with console(settings) as served:
        async with client() as http:
            me, _ = await log_in(http, served.url)
            h = {"X-CSRF-Token": me["csrf"]}
            for body in ({"rule": "low_ctr", "room_id": "room-ok\n", "minutes": 5},
                         {"rule": "low_ctr\n", "room_id": "room-ok", "minutes": 5}):
                status, _ = await call(http, "POST", f"{served.url}/api/silences", headers=h,
                                         json=body)
                assert status == 400, body
            status, _ = await call(http, "POST", f"{served.url}/api/alerts/abc%0A/ack", headers=h)
            assert status == 400
        assert await served.ctx.silences.active(served.ctx.now_ms()) == []


def test_origins_are_normalised_and_bad_ones_rejected():
    assert normalize_origin("HTTPS://Console.Example.com:443/") == "https://console.example.com"
    assert normalize_origin("http://[::1]:6066") == "http://[::1]:6066"
    for bad in ("null", "console.example.com", "https://x/path", "ftp://x", "http://u:p@x"):
        assert normalize_origin(bad) is None
    assert ConsoleSettings(allowed_origins="https://a.example, http://b.example:8080",
                           session_secret=SESSION_SECRET).allowed_origins == (
        "https://a.example", "http://b.example:8080")
    with pytest.raises(ValueError, match="not an origin"):
        ConsoleSettings(allowed_origins="https://a.example/console")


@aio
async def test_memory_revocations_are_bounded(settings):
    from streams.console.auth import Authenticator

    auth, revs = Authenticator(settings), MemoryRevocations(max_entries=3)
    sessions = [auth.new_session("u", "viewer", now=time.time() + i) for i in range(5)]
    for s in sessions:
        await revs.revoke(s)
    assert len(revs) == 3
    assert await revs.revoked(sessions[-1]) and not await revs.revoked(sessions[0])
