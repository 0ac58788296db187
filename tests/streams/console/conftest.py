"""Console test helpers: a room's events in a real KPI store, alerts, and the console on a real
port."""

from __future__ import annotations

import contextlib
import itertools
import time
from dataclasses import dataclass
from typing import Self

import pytest
from aiohttp import web
from pydantic import SecretStr

from alerts.model import Alert, Audience, Evidence, fingerprint
from schemas.events import EVENT_ADAPTER
from streams.console.context import ConsoleContext
from streams.console.install import add_console
from streams.console.settings import ConsoleSettings
from streams.kpi.fold import BatchFolder
from streams.stack import free_port

OPERATOR_TOKEN = "op-tok-7f3a9c2e51d84b6f"
VIEWER_TOKEN = "view-tok-0b8e4d1c2a6f9e37"
SESSION_SECRET = "session-secret-5c1e9b2d7a4f"
SECRETS = (OPERATOR_TOKEN, VIEWER_TOKEN, SESSION_SECRET)
_ids = itertools.count()


@pytest.fixture
def settings() -> ConsoleSettings:
    return ConsoleSettings(operator_tokens={"alice": SecretStr(OPERATOR_TOKEN)},
                           viewer_tokens={"bob": SecretStr(VIEWER_TOKEN)},
                           session_secret=SecretStr(SESSION_SECRET))


def make_alert(rule: str = "low_ctr", room: str = "room-1", state: str = "firing",
               starts_at: int | None = None, severity: str = "warning",
               action_zh: str = "立即讲解爆款并发放优惠券",
               action_en: str = "Pitch the hero product now",
               summary: dict[str, str] | None = None) -> Alert:
    starts_at = starts_at if starts_at is not None else int(time.time() * 1000) - 60_000
    return Alert(
        fingerprint=fingerprint(rule, room), rule=rule, room_id=room, state=state,
        severity=severity, audience=(Audience.control_room,), starts_at=starts_at,
        ends_at=None if state == "firing" else starts_at + 120_000, minutes_since_start=12.0,
        evidence=Evidence(kpi="ctr", value=0.01, window="5m", target=0.03),
        summary=summary or {"zh-CN": f"{room} 商品点击率为1.0%，低于目标3.0%",
                            "en": f"{room} CTR is 1.0%, below the target 3.0%"},
        action={"zh-CN": action_zh, "en": action_en},
    )


def room_events(room: str, now_ms: int, stage: str = "conversion") -> list:
    """A live room: exposures from two sources, entries, clicks, carts, orders."""
    t0 = now_ms - 20 * 60_000

    def ev(type_: str, at: int, user: str | None = None, **fields):
        data = {"type": type_, "event_id": f"e{next(_ids)}", "room_id": room, "ts": t0 + at,
                "user_id": user, "brand_id": "brand-a", **fields}
        return EVENT_ADAPTER.validate_python(data, context={"now_ms": now_ms})

    out = [ev("broadcast_start", 0), ev("stage_change", 1, stage=stage),
           ev("phase_change", 2, phase="live"),
           ev("product_pinned", 3, product_id="p1", product_name="Thermos cup")]
    for i in range(40):
        at = 60_000 + i * 25_000
        user = f"u{i}"
        src = "recommend" if i % 3 else "search"
        out += [ev("room_exposure", at, user, source=src),
                ev("room_exposure", at + 1, f"x{i}", source=src)]
        out.append(ev("enter", at + 2, user, source=src))
        out.append(ev("product_exposure", at + 3, user, product_id="p1" if i % 2 else "p2"))
        if i % 4 == 0:
            out.append(ev("product_click", at + 4, user, product_id="p1"))
        if i % 8 == 0:
            out.append(ev("cart_add", at + 5, user, product_id="p1"))
            out.append(ev("order", at + 6, user, order_id=f"o{i}", product_id="p1", amount=99.0))
    return out


async def fill_store(store, room: str = "room-1", now_ms: int | None = None,
                     stage: str = "conversion") -> None:
    now_ms = now_ms or int(time.time() * 1000)
    folder = BatchFolder(store.settings)
    events = room_events(room, now_ms, stage)
    for e in events:
        folder.add(e)
    await store.apply(folder.take(), {(f"in-{room}", 0): len(events)}, "console-test", now_ms)


@dataclass
class Served:
    url: str
    ctx: ConsoleContext


@contextlib.asynccontextmanager
async def serve_console(**kw):
    """The console on an aiohttp server at 127.0.0.1:<free port>; stopped on exit."""
    app = web.Application()
    ctx = add_console(app, **kw)
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield Served(f"http://127.0.0.1:{port}{ctx.base}", ctx)
    finally:
        await runner.cleanup()


class ServerThread:
    """An event loop in a thread serving the console, so a blocking browser driver can use it."""

    def __init__(self, **console_kw) -> None:
        import asyncio
        import threading

        self._kw = console_kw
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.served: Served | None = None
        self.error: BaseException | None = None
        self.cleanup: list = []
        self._thread = threading.Thread(target=self._main, name="console-server", daemon=True)

    def _main(self) -> None:
        import asyncio

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        self.loop.close()

    async def _serve(self) -> None:
        import asyncio

        self._stop = asyncio.Event()
        try:
            kw = self._kw.pop("setup")() if "setup" in self._kw else {}
            kw = {**self._kw, **(await kw if hasattr(kw, "__await__") else kw)}
            try:
                async with serve_console(**kw) as served:
                    self.served = served
                    self._ready.set()
                    await self._stop.wait()
            finally:
                for close in self.cleanup:  # after the server: open streams still use these
                    await close()
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.error = exc
            self._ready.set()

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(30)
        if self.error is not None or self.served is None:
            raise RuntimeError(f"console server did not start: {self.error!r}")
        return self

    def run(self, coro, timeout: float = 10.0):
        """Run a coroutine on the server's loop (e.g. push an alert through the feed)."""
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
