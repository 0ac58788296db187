"""Fixtures for sink tests: sample alerts and the fake-platform HTTP server on a free port."""

from __future__ import annotations

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from alerts.model import Alert, AlertState, Audience, Evidence, Severity, fingerprint
from tests.alerts.sinks.platforms import Platforms, make_app


def make_alert(
    *,
    room: str = "room-1",
    rule: str = "cart_rate_spike",
    severity: Severity = Severity.warning,
    state: AlertState = AlertState.firing,
    audience: tuple[Audience, ...] = (Audience.host, Audience.ops),
    summary_zh: str = "商品「保温杯」加购率突增 35%",
    action_zh: str = "立即延长该商品讲解时长",
    summary_en: str | None = "Add-to-cart rate of 'Thermos' jumped 35%",
    action_en: str | None = "Extend the explanation of this product now",
    labels: dict | None = None,
) -> Alert:
    summary = {"zh-CN": summary_zh, **({"en": summary_en} if summary_en else {})}
    action = {"zh-CN": action_zh, **({"en": action_en} if action_en else {})}
    return Alert(
        fingerprint=fingerprint(rule, room, labels), rule=rule, room_id=room, state=state,
        severity=severity, audience=audience, labels=labels or {}, product_id="p-1",
        product_name="保温杯", starts_at=1_700_000_000_000,
        ends_at=1_700_000_300_000 if state == AlertState.resolved else None,
        evidence=Evidence(kpi="cart_add_rate", value=0.27, window="5m", baseline=0.2),
        summary=summary, action=action,
    )


@pytest.fixture
def alert() -> Alert:
    return make_alert()


@pytest_asyncio.fixture(loop_scope="session")
async def platforms():
    """The fake platforms, listening on 127.0.0.1:<free port>; stopped after the test."""
    state = Platforms()
    # No access log: it is the platform's log, and would print the secret URL paths we send.
    server = TestServer(make_app(state), host="127.0.0.1", port=0)
    await server.start_server(access_log=None)
    state.base = str(server.make_url("")).rstrip("/")
    try:
        yield state
    finally:
        await server.close()
