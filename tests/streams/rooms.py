"""Many live rooms written straight into a KPI store through its apply path (no Kafka)."""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import AsyncIterator

from aiohttp import web

from schemas.events import EVENT_ADAPTER
from streams.kpi.fold import BatchFolder
from streams.stack import free_port

_ids = itertools.count()
_offsets = itertools.count(1)
SOURCES = ("recommend", "search", "follow")


def event(type_: str, room: str, ts: int, user: str | None = None, **fields) -> object:
    data = {"type": type_, "event_id": f"s{next(_ids)}", "room_id": room, "ts": ts,
            "user_id": user, **fields}
    return EVENT_ADAPTER.validate_python(data, context={"now_ms": ts + 10**12})


def room_events(room: str, start_ms: int, minutes: int, *, brand: str, stage: str,
                per_minute: int = 6, seed: int = 0, products: int = 3) -> list:
    """A broadcast from `start_ms` with `per_minute` cycles of exposure → entry → click → cart
    → order per broadcast minute, a comment or like now and then."""
    rnd = random.Random(f"{seed}:{room}")
    out = [event("broadcast_start", room, start_ms, brand_id=brand, platform="douyin"),
           event("stage_change", room, start_ms, stage=stage),
           event("phase_change", room, start_ms, phase="live"),
           event("product_pinned", room, start_ms, product_id=f"{room}-p0",
                 product_name="pinned")]
    for m in range(minutes):
        for k in range(per_minute):
            ts = start_ms + m * 60_000 + k * (60_000 // per_minute) + rnd.randrange(1000)
            user = f"u{rnd.randrange(500)}"
            pid = f"{room}-p{rnd.randrange(products)}"
            out.append(event("room_exposure", room, ts, user, source=rnd.choice(SOURCES)))
            out.append(event("enter", room, ts + 1, user, source=rnd.choice(SOURCES)))
            out.append(event("product_exposure", room, ts + 2, user, product_id=pid))
            if rnd.random() < 0.6:
                out.append(event("product_click", room, ts + 3, user, product_id=pid))
            if rnd.random() < 0.3:
                out.append(event("cart_add", room, ts + 4, user, product_id=pid))
            if rnd.random() < 0.15:
                out.append(event("order", room, ts + 5, user, product_id=pid,
                                 order_id=f"o{next(_ids)}", amount=19.9, status="paid"))
            if rnd.random() < 0.3:
                out.append(event("comment", room, ts + 6, user, text="好看"))
            if rnd.random() < 0.3:
                out.append(event("leave", room, ts + 7, user, watch_ms=30_000))
    return out


async def apply_events(store, events: list, applied_at_ms: int, batch: int = 20_000) -> None:
    """Fold and apply in time order, `batch` events per atomic apply."""
    events = sorted(events, key=lambda e: e.ts)
    folder = BatchFolder(store.settings)
    for i in range(0, len(events), batch):
        for e in events[i:i + batch]:
            folder.add(e)
        result = await store.apply(folder.take(), {("seed", 0): next(_offsets)}, "seed",
                                   applied_at_ms)
        assert result, result


async def seed_rooms(store, n: int, start_ms: int, minutes: int, *, per_minute: int = 1,
                     prefix: str = "room-") -> list[str]:
    """`n` rooms; brands b0..b4 and stages alternate so that filters have something to find."""
    rooms = [f"{prefix}{i:05d}" for i in range(n)]
    events = []
    for i, room in enumerate(rooms):
        events += room_events(room, start_ms, minutes, brand=f"b{i % 5}",
                              stage=("traffic", "conversion", "retention")[i % 3],
                              per_minute=per_minute, seed=i)
    await apply_events(store, events, start_ms + minutes * 60_000)
    return rooms


@contextlib.asynccontextmanager
async def serve(routes: list[web.RouteDef]) -> AsyncIterator[str]:
    """The routes on a real aiohttp server on 127.0.0.1; yields the base URL."""
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
