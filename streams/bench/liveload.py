"""The live-rooms bench's traffic: the simulator's rooms, paced in real time, never ending.

`python -m streams.bench.liveload --rooms N --rate R --warmup-s W` (the Kafka and topic settings
come from the ROOMPULSE_* environment, as for the worker) produces `W` seconds of history as fast
as it can, then every message when its event time comes, until SIGTERM; it then prints one JSON
line (messages sent, achieved rate, how far behind real time it fell). `broadcast_end` messages
are dropped so every room stays live.

It runs in its own process so the bench's HTTP probes are not delayed by event generation
(the simulator costs ~11 µs per event in Python).

It ships a batch per partition every `--linger-ms` (100), as a production producer under load
does (Kafka's linger.ms): shipping every 256 messages, as it did, made ~40 tiny produce requests a
second and the embedded broker spent 0.38 of a core on them (0.09 at 100 ms, same events).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time

import orjson

from streams.produce import EventProducer
from streams.settings import KafkaSettings, TopicSettings
from streams.simulator.config import SimConfig, exposures_for_rate
from streams.simulator.generate import Simulation

PACE_EVERY = 256  # messages between clock checks: a sleep per message would cost more than it
BROADCAST_MIN = 240  # long enough that no room reaches its end during a run
LINGER_MS = 100


def simulation(rooms: int, rate: float, warmup_s: float, now_ms: int, seed: int = 1
               ) -> Simulation:
    return Simulation(SimConfig(start_ms=now_ms - int(warmup_s * 1000), rooms=rooms, seed=seed,
                                duration_min=BROADCAST_MIN,
                                exposures_per_min=exposures_for_rate(rate, 1.0, rooms)))


def stays_live(value: bytes) -> bool:
    """False for the message that would end a broadcast (cheap: no JSON parse)."""
    return b'"broadcast_end"' not in value


async def produce(rooms: int, rate: float, warmup_s: float, stop: asyncio.Event,
                  linger_ms: int = LINGER_MS) -> dict:
    now_ms = int(time.time() * 1000)
    sim = simulation(rooms, rate, warmup_s, now_ms)
    topics = TopicSettings()
    sent = dropped = 0
    behind_ms = 0
    t_live = None  # wall clock when the history was out and real-time pacing began
    sent_at_live = 0
    linger_s = linger_ms / 1000
    async with EventProducer(KafkaSettings(), topics, linger_ms=linger_ms) as producer:
        for msg in sim.messages():
            if stop.is_set():
                break
            if not stays_live(msg.value):
                dropped += 1
                continue
            await producer.send_raw(topics.name(msg.kind), msg.key, msg.value)
            sent += 1
            if sent % PACE_EVERY:
                continue
            wall_ms = time.time() * 1000
            if t_live is None and msg.ts >= now_ms:
                t_live, sent_at_live = time.perf_counter(), sent
                print(f"liveload: history out ({sent} messages)", file=sys.stderr, flush=True)
            if msg.ts > wall_ms:
                if time.monotonic() - producer.last_ship >= linger_s:
                    await producer.ship_all()
                await asyncio.sleep((msg.ts - wall_ms) / 1000)
            else:
                if t_live is not None:  # real time outran the generator
                    behind_ms = max(behind_ms, int(wall_ms - msg.ts))
                await asyncio.sleep(0)  # let the producer's sender run
    live_s = time.perf_counter() - t_live if t_live else 0.0
    return {"messages": sent, "dropped_broadcast_end": dropped,
            "live_events_per_s": round((sent - sent_at_live) / live_s) if live_s else None,
            "max_behind_ms": behind_ms, "target_events_per_s": rate}


async def _main(args: argparse.Namespace) -> dict:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    return await produce(args.rooms, args.rate, args.warmup_s, stop, args.linger_ms)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rooms", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True, help="events/s across all rooms")
    ap.add_argument("--warmup-s", type=float, default=60.0, help="seconds of history first")
    ap.add_argument("--linger-ms", type=int, default=LINGER_MS,
                    help="ship each partition's batch at least this often")
    args = ap.parse_args(argv)
    print(orjson.dumps(asyncio.run(_main(args))).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
