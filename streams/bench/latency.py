"""The latency phase: a fixed offered load with marker events, polled through the KPI read API."""

from __future__ import annotations

import asyncio
import itertools
import time

import aiohttp
import orjson

from streams.bench import workload
from streams.bench.measure import percentile, say
from streams.produce import EventProducer
from streams.settings import KafkaSettings, TopicSettings
from streams.topics import TOPIC_OF_TYPE

MARKER_ROOM = "bench-marker"
MARKER_EVERY_S = 0.05
TICK_S = 0.01


def marker(k: int, now_ms: int) -> bytes:
    return orjson.dumps({"type": "like", "event_id": f"marker-{k}", "room_id": MARKER_ROOM,
                         "ts": now_ms, "count": 1})


async def _visible_markers(http: aiohttp.ClientSession, url: str) -> int:
    try:
        async with http.get(url) as r:
            if r.status != 200:
                return 0
            body = await r.json()
            return int(body["kpis"]["likes"]["value"] or 0)
    except (aiohttp.ClientError, KeyError, TypeError, ValueError):
        return 0


async def run_latency(kafka: KafkaSettings, topics: TopicSettings, api: str, rate: float,
                      seconds: float, rooms: int = 10) -> dict:
    """Offer `rate` events/s for `seconds`; return p50/p99 produce-to-visible of the markers."""
    sent_at: dict[int, float] = {}
    seen_at: dict[int, float] = {}
    url = f"{api}/api/rooms/{MARKER_ROOM}/kpis?window=5m"
    done = asyncio.Event()

    async def poll() -> None:
        async with aiohttp.ClientSession() as http:
            while True:
                v = await _visible_markers(http, url)
                now = time.perf_counter()
                for k in range(1, v + 1):
                    seen_at.setdefault(k, now)
                if done.is_set() and v >= len(sent_at):
                    return
                await asyncio.sleep(0.01)

    poller = asyncio.create_task(poll())
    offered = await offer(kafka, topics, rate, seconds, sent_at, rooms)
    done.set()
    try:
        await asyncio.wait_for(poller, 30)
    except TimeoutError:
        say(f"latency: only {len(seen_at)}/{len(sent_at)} markers became visible")
    lat_ms = [(seen_at[k] - sent_at[k]) * 1000 for k in sent_at if k in seen_at]
    return {"offered_events_per_s": round(offered), "markers": len(sent_at),
            "markers_visible": len(lat_ms), "p50_ms": _r(percentile(lat_ms, 50)),
            "p99_ms": _r(percentile(lat_ms, 99))}


async def offer(kafka: KafkaSettings, topics: TopicSettings, rate: float, seconds: float,
                sent_at: dict[int, float], rooms: int = 10) -> float:
    """Produce `rate` events/s of the bench's mix for `seconds`, plus a marker like every
    MARKER_EVERY_S (marker k's send time in `sent_at[k]`); returns the rate offered."""
    cycle = itertools.cycle(workload.CYCLE)
    sent = 0
    async with EventProducer(kafka, topics) as producer:
        t0 = time.perf_counter()
        next_marker = t0
        while (elapsed := time.perf_counter() - t0) < seconds:
            now_ms = int(time.time() * 1000)
            due = int(rate * elapsed)
            while sent < due:
                etype = next(cycle)
                room = f"lat-room-{sent % rooms + 1}"
                ev = workload.event(etype, f"lat-{sent}", room, now_ms, f"u-{sent % 5000}")
                await producer.send_raw(topics.name(TOPIC_OF_TYPE[etype]), room.encode(),
                                        orjson.dumps(ev))
                sent += 1
            if time.perf_counter() >= next_marker:
                k = len(sent_at) + 1
                await producer.send_raw(topics.name("interactions"), MARKER_ROOM.encode(),
                                        marker(k, now_ms))
                sent_at[k] = time.perf_counter()
                next_marker += MARKER_EVERY_S
            await producer.ship_all()
            await asyncio.sleep(TICK_S)
        return sent / (time.perf_counter() - t0)


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)
