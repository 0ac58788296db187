"""The probe server on a real port: it answers while the event loop is blocked, says so, fails
liveness when the heartbeat stops, follows the readiness checks (Redis cut by a real proxy) and
frees its port when stopped."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
import time
from urllib.parse import urlsplit

import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from streams.kpi.store_redis import RedisKpiStore
from streams.stack import free_port
from streams.worker.apisettings import ApiSettings
from streams.worker.looplag import LoopLag
from streams.worker.probes import LoopProbes
from streams.worker.probeserver import ProbeServer
from streams.worker.web import readiness_problems
from tests.streams.worker.conftest import make_engine, wait_for
from tests.streams.worker.tcpproxy import TcpProxy


def get(port: int, path: str) -> tuple[int, dict]:
    """A blocking GET (for threads and to_thread): status and JSON body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, orjson.loads(r.read())
    finally:
        conn.close()


async def no_problems() -> list[str]:
    return []


def server_for(probes: LoopProbes, registry: CollectorRegistry | None = None,
               **kw) -> ProbeServer:
    server = ProbeServer(probes, "127.0.0.1", free_port(), registry=registry or CollectorRegistry(),
                         **kw)
    server.start()
    return server


async def cancel(*tasks: asyncio.Task) -> None:
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_answers_while_the_loop_is_blocked_and_reports_the_block() -> None:
    lag = LoopLag(CollectorRegistry(), interval_s=0.02)
    probes = LoopProbes(lag, no_problems, stale_s=10.0, every_s=0.05, max_age_s=10.0)
    tasks = [asyncio.create_task(lag.run()), asyncio.create_task(probes.refresh())]
    server = server_for(probes)
    try:
        await wait_for(lambda: probes.snapshot is not None, 5, "a readiness check")
        status, body = await asyncio.to_thread(get, server.port, "/healthz")
        assert status == 200 and body["status"] == "ok"
        answers: dict[str, tuple[int, dict, float]] = {}

        def probe_mid_block() -> None:
            time.sleep(0.8)  # well inside the loop's 1.5 s block below
            for path in ("/healthz", "/readyz"):
                status, body = get(server.port, path)
                answers[path] = (status, body, time.monotonic())

        prober = threading.Thread(target=probe_mid_block)
        prober.start()
        time.sleep(1.5)  # blocks the event loop: no heartbeat, no refresh, no other task
        block_ended = time.monotonic()
        prober.join()
        status, body, at = answers["/healthz"]
        assert at < block_ended, "answered only after the loop was free again"
        assert status == 200 and body["status"] == "ok"
        # The last heartbeat was before the prober started, 0.8 s before its GET.
        assert body["loop_lag_s"] >= 0.7, body
        status, body, at = answers["/readyz"]
        assert at < block_ended and status == 200, body
        assert body["checked_s_ago"] >= 0.7, body
    finally:
        server.stop()
        await cancel(*tasks)


async def test_a_stopped_heartbeat_fails_liveness_and_stale_checks_fail_readiness() -> None:
    lag = LoopLag(CollectorRegistry(), interval_s=0.02)
    probes = LoopProbes(lag, no_problems, stale_s=0.3, every_s=0.05, max_age_s=0.4)
    tasks = [asyncio.create_task(lag.run()), asyncio.create_task(probes.refresh())]
    server = server_for(probes)
    try:
        await wait_for(lambda: probes.snapshot is not None, 5, "a readiness check")
        await cancel(*tasks)  # the loop runs on, but its heartbeat and checks are gone

        async def both_fail() -> bool:
            codes = [(await asyncio.to_thread(get, server.port, path))[0]
                     for path in ("/healthz", "/readyz")]
            return codes == [503, 503]

        await wait_for(both_fail, 10, "/healthz and /readyz 503")
        status, body = await asyncio.to_thread(get, server.port, "/healthz")
        assert status == 503 and "heartbeat" in body["reason"], body
        assert body["loop_lag_s"] > 0.3
        status, body = await asyncio.to_thread(get, server.port, "/readyz")
        assert status == 503 and "last checked" in body["problems"][0], body
    finally:
        server.stop()
        await cancel(*tasks)


@pytest.mark.integration
async def test_readiness_follows_the_checks_redis_cut_and_restored(stack, topic_settings,
                                                                   kpi_settings) -> None:
    url = urlsplit(stack.redis_url)
    assert url.port is not None
    proxy = TcpProxy(url.port)
    await proxy.start()
    # The stack's URL (its password, if any) with the proxy's port.
    userinfo = url.netloc.rsplit("@", 1)[0] + "@" if "@" in url.netloc else ""
    client = aioredis.from_url(url._replace(netloc=f"{userinfo}127.0.0.1:{proxy.port}").geturl(),
                               socket_timeout=1, socket_connect_timeout=1)

    store = RedisKpiStore(client, kpi_settings)
    engine = make_engine(stack, topic_settings, kpi_settings, store)
    lag = LoopLag(CollectorRegistry(), interval_s=0.05)
    probes = LoopProbes(lag, readiness_problems(engine, store), stale_s=10.0, every_s=0.05,
                        max_age_s=10.0)
    tasks = [asyncio.create_task(lag.run()), asyncio.create_task(probes.refresh())]
    server = server_for(probes)

    async def readyz() -> tuple[int, dict]:
        return await asyncio.to_thread(get, server.port, "/readyz")

    async def answers(status: int, problem: str | None = None) -> bool:
        got, body = await readyz()
        return got == status and (problem is None or problem in body.get("problems", []))

    try:
        await wait_for(lambda: answers(503, "no partitions assigned yet"), 10, "not assigned")
        engine.assigned_once.set()  # what the engine's rebalance listener does on assignment
        await wait_for(lambda: answers(200), 10, "ready")
        await proxy.cut()
        await wait_for(lambda: answers(503, "Redis does not answer PING"), 10, "Redis named")
        status, body = await readyz()
        assert status == 503 and body["problems"] == ["Redis does not answer PING"], body
        assert (await asyncio.to_thread(get, server.port, "/healthz"))[0] == 200  # alive
        await proxy.restore()
        await wait_for(lambda: answers(200), 10, "ready again")
    finally:
        server.stop()
        await cancel(*tasks)
        await client.aclose()
        await proxy.stop()


async def test_stop_joins_the_thread_and_frees_the_port() -> None:
    lag = LoopLag(CollectorRegistry(), interval_s=0.02)
    probes = LoopProbes(lag, no_problems, stale_s=10.0, every_s=0.05, max_age_s=10.0)
    server = server_for(probes)
    port, thread = server.port, server._thread
    assert (await asyncio.to_thread(get, port, "/healthz"))[0] == 200
    await asyncio.to_thread(server.stop)
    assert thread is not None and not thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    again = ProbeServer(probes, "127.0.0.1", port, registry=CollectorRegistry())
    again.start()  # the same port, at once
    try:
        assert (await asyncio.to_thread(get, port, "/healthz"))[0] == 200
    finally:
        again.stop()


async def test_connections_beyond_the_bound_are_closed_and_counted() -> None:
    registry = CollectorRegistry()
    lag = LoopLag(CollectorRegistry(), interval_s=0.02)
    probes = LoopProbes(lag, no_problems, stale_s=10.0, every_s=0.05, max_age_s=10.0)
    server = server_for(probes, registry, max_connections=1, timeout_s=30)
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)  # sends nothing
    try:
        # The kernel hands connections over in order: the idle one holds the only slot.
        def refused_get() -> bytes:
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                try:
                    return s.recv(1024)
                except ConnectionResetError:
                    return b""

        assert await asyncio.to_thread(refused_get) == b""
        assert registry.get_sample_value("roompulse_probe_connections_refused_total") == 1
        idle.close()  # its thread reads EOF and gives the slot back

        def served(path: str, code: int):
            async def check() -> bool:
                try:
                    return (await asyncio.to_thread(get, server.port, path))[0] == code
                except (ConnectionError, http.client.HTTPException):
                    # The server's thread gives its slot back just after the client has read
                    # the answer, so the next connection may still find the only slot taken.
                    return False
            return check

        await wait_for(served("/healthz", 200), 10, "served again")
        assert registry.get_sample_value("roompulse_probe_requests_total",
                                         {"path": "/healthz", "code": "200"}) == 1
        await wait_for(served("/nope", 404), 10, "an unknown path answered 404")
        assert registry.get_sample_value("roompulse_probe_requests_total",
                                         {"path": "other", "code": "404"}) == 1
    finally:
        idle.close()
        server.stop()


def test_answers_from_the_loops_last_word() -> None:
    """Pure logic: the verdicts at chosen moments."""
    lag = LoopLag(CollectorRegistry(), interval_s=0.1)
    probes = LoopProbes(lag, no_problems, stale_s=10.0, every_s=1.0, max_age_s=5.0)
    lag.last_tick = 100.0
    assert probes.liveness(100.05) == (200, {"status": "ok", "loop_lag_s": 0.0})
    assert probes.liveness(103.1) == (200, {"status": "ok", "loop_lag_s": 3.0})
    status, body = probes.liveness(110.5)
    assert status == 503 and body["loop_lag_s"] == 10.4
    assert probes.readiness(100.0) == (503, {"status": "not ready",
                                             "problems": ["readiness not checked yet"]})
    probes.snapshot = ((), 100.0)
    assert probes.readiness(101.0) == (200, {"status": "ready", "checked_s_ago": 1.0})
    assert probes.readiness(105.5)[0] == 503
    probes.snapshot = (("Redis unavailable",), 100.0)
    assert probes.readiness(101.0) == (503, {"status": "not ready", "checked_s_ago": 1.0,
                                             "problems": ["Redis unavailable"]})


def test_probe_port_defaults_next_to_the_web_port() -> None:
    assert ApiSettings().probe_port_for(6066) == 6067
    assert ApiSettings(probe_port=9000).probe_port_for(6066) == 9000
    assert ApiSettings(probe_port=0).probe_port_for(6066) == 0  # off
    assert ApiSettings().probe_port_for(0) == 0
    with pytest.raises(ValueError, match="READY_MAX_AGE"):
        ApiSettings(probe_ready_every_s=5.0, probe_ready_max_age_s=5.0)


async def test_a_connection_that_sends_nothing_is_closed_after_the_timeout() -> None:
    lag = LoopLag(CollectorRegistry(), interval_s=0.02)
    probes = LoopProbes(lag, no_problems, stale_s=10.0, every_s=0.05, max_age_s=10.0)
    server = server_for(probes, timeout_s=0.2)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as idle:
            # Blocks until the server gives up on the request and closes: b"", not our timeout.
            assert await asyncio.to_thread(idle.recv, 1024) == b""
        assert (await asyncio.to_thread(get, server.port, "/healthz"))[0] == 200
    finally:
        server.stop()
