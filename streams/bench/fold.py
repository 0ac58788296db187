"""Micro-benchmark (not a test): fold events/s and apply time per batch on a real Redis."""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

from schemas.events import EVENT_ADAPTER, BaseEvent
from streams.kpi.config import KpiSettings
from streams.kpi.fold import BatchFolder

T0 = 1_763_000_100_000  # on a 5-minute boundary
MIX = (  # (type, weight): a busy room's rough event mix
    ("room_exposure", 25), ("enter", 12), ("leave", 10), ("like", 20), ("comment", 8),
    ("share", 1), ("follow", 1), ("product_exposure", 12), ("product_click", 6),
    ("cart_add", 2.5), ("order", 1.5), ("private_domain_join", 0.5),
)
SOURCES = ("recommend", "search", "follow", "ads", "short_video", "private_domain")
TEXTS = ("好看", "多少钱", "这是假货吗", "love it", "scam?", "主播好美", "已下单", "链接在哪")


def make_events(n: int, rooms: int = 50, products: int = 20, users: int = 200_000,
                span_ms: int = 2_000, seed: int = 7) -> list[BaseEvent]:
    """`n` validated events over `rooms` rooms, event time advancing `span_ms` per 10k events."""
    rnd = random.Random(seed)
    types = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    out = []
    for i in range(n):
        t = rnd.choices(types, weights)[0]
        room = f"room-{rnd.randrange(rooms)}"
        d: dict[str, Any] = {"type": t, "event_id": f"e{i}", "room_id": room,
                             "ts": T0 + i * span_ms // 10_000, "platform": "douyin",
                             "user_id": f"u{rnd.randrange(users)}"}
        if t in ("room_exposure", "enter"):
            d["source"] = rnd.choice(SOURCES)
        elif t == "leave":
            d["watch_ms"] = rnd.randrange(1_000, 600_000)
        elif t == "comment":
            d["text"] = rnd.choice(TEXTS)
        elif t in ("product_exposure", "product_click", "cart_add", "order"):
            d["product_id"] = f"{room}-p{rnd.randrange(products)}"
            if t == "order":
                d.update(order_id=f"o{i}", amount=rnd.randrange(1000, 50000) / 100,
                         status="refunded" if rnd.random() < 0.1 else "paid")
        out.append(EVENT_ADAPTER.validate_python(d, context={"now_ms": T0 + 10**12}))
    return out


def bench_fold(events: list[BaseEvent], batch: int, settings: KpiSettings) -> tuple[float, list]:
    folder = BatchFolder(settings)
    deltas = []
    t = time.perf_counter()
    for i in range(0, len(events), batch):
        for e in events[i:i + batch]:
            folder.add(e)
        deltas.append(folder.take())
    return len(events) / (time.perf_counter() - t), deltas


async def bench_apply(redis_url: str, deltas: list, settings: KpiSettings) -> list[float]:
    import redis.asyncio as aioredis

    from streams.kpi.store_redis import RedisKpiStore

    r = aioredis.from_url(redis_url)
    store = RedisKpiStore(r, settings)
    times = []
    try:
        for i, d in enumerate(deltas):
            t = time.perf_counter()
            await store.apply(d, {("bench.views", 0): (i + 1) * 10_000}, "bench", T0)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        await store.room_kpis("room-0", "5m")
        times.append(time.perf_counter() - t)  # last entry: one 5m room read
    finally:
        await r.aclose()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--rooms", type=int, default=50)
    ap.add_argument("--redis-url", default=None, help="default: start an embedded valkey-server")
    args = ap.parse_args()
    settings = KpiSettings(key_prefix=f"bench{random.randrange(10**6)}")
    events = make_events(args.events, rooms=args.rooms)
    rate, deltas = bench_fold(events, args.batch, settings)
    print(f"fold: {rate:,.0f} events/s ({args.events} events, batch {args.batch})")
    stack = None
    url = args.redis_url
    if url is None:
        from streams.settings import KafkaSettings
        from streams.stack import start_stack
        # A configured bootstrap makes start_stack skip Tansu: only valkey-server starts.
        stack = start_stack(KafkaSettings(bootstrap="127.0.0.1:1"))
        url = stack.redis_url
    try:
        times = asyncio.run(bench_apply(url, deltas, settings))
    finally:
        if stack is not None:
            stack.stop()
    applies = sorted(times[:-1])
    print(f"apply per {args.batch}-event batch: median {applies[len(applies) // 2] * 1e3:.1f} ms, "
          f"max {applies[-1] * 1e3:.1f} ms; room_kpis 5m read {times[-1] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
