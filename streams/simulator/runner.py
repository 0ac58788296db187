"""Drive a simulation or a recording: pace by broadcast clock, produce or record, count truth."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from streams.produce import EventProducer
from streams.recordings import read_recording
from streams.simulator.config import SimConfig
from streams.simulator.generate import Simulation
from streams.simulator.recording import line_for
from streams.simulator.truth import Truth
from streams.topics import topic_for


def live_start_ms(wall_start_ms: int, duration_min: int, speed: float) -> int:
    """Broadcast start so that event time never runs ahead of wall time and ends at 'now'."""
    d = duration_min * 60_000
    return int(wall_start_ms + d / speed - d)


class Progress:
    """Prints `events produced, events/s` to stderr every `every` seconds."""

    def __init__(self, label: str, out: TextIO | None = sys.stderr, every: float = 2.0) -> None:
        self.label, self.out, self.every = label, out, every
        self.t0 = self.last = time.monotonic()
        self.count = 0

    def tick(self, n: int = 1) -> None:
        self.count += n
        if self.out is not None and self.count & 1023 == 0:
            now = time.monotonic()
            if now - self.last >= self.every:
                self.last = now
                self._print(now)

    def done(self) -> None:
        if self.out is not None:
            self._print(time.monotonic(), final=True)

    def _print(self, now: float, final: bool = False) -> None:
        rate = self.count / max(now - self.t0, 1e-9)
        end = " (done)" if final else ""
        print(f"{self.label}: {self.count} messages, {rate:,.0f}/s{end}", file=self.out,
              flush=True)


class Pacer:
    """Maps event time to wall time (`speed` broadcast seconds per wall second)."""

    def __init__(self, first_ts: int, speed: float | None) -> None:
        self.first_ts, self.speed = first_ts, speed
        self.wall0 = time.monotonic()

    def delay(self, ts: int) -> float:
        if not self.speed:
            return 0.0
        return self.wall0 + (ts - self.first_ts) / 1000 / self.speed - time.monotonic()


def truth_meta(sim: Simulation) -> dict:
    return {"config": sim.config.to_json(), "scenarios": sim.scenarios,
            "products": sim.products()}


def record(config: SimConfig, out_path: Path, progress: Progress | None = None) -> Truth:
    """Write the whole simulation to a recording file; returns the truth."""
    sim = Simulation(config)
    truth = Truth(truth_meta(sim))
    with open(out_path, "wb") as out:
        for msg in sim.messages():
            out.write(line_for(msg))
            truth.observe(msg.event, msg.expect)
            if progress:
                progress.tick()
    return truth


async def run_simulation(config: SimConfig, producer: EventProducer, *,
                         speed: float | None = None, progress: Progress | None = None) -> Truth:
    """Produce a simulation into Kafka, paced by `speed` (None = as fast as possible)."""
    sim = Simulation(config)
    truth = Truth(truth_meta(sim))
    pacer = Pacer(config.start_ms, speed)
    topics = producer.topics
    names = {k: topics.name(k) for k in ("views", "interactions", "products", "orders",
                                         "control")}
    for msg in sim.messages():
        wait = pacer.delay(msg.ts)
        if wait > 0.005:
            await producer.ship_all()
            await asyncio.sleep(wait)
        await producer.send_raw(names[msg.kind], msg.key, msg.value)
        truth.observe(msg.event, msg.expect)
        if progress:
            progress.tick()
    await producer.flush()
    return truth


async def replay(path: Path, producer: EventProducer, *, speed: float | None = None,
                 progress: Progress | None = None) -> Truth:
    """Play a recording into Kafka; returns the truth recounted from the file."""
    truth = Truth({"recording": str(path)})
    pacer: Pacer | None = None
    views = producer.topics.name("views")
    records: Iterable = read_recording(path)
    for rec in records:
        if rec.obj is not None:
            ts = rec.obj.get("ts")
            if isinstance(ts, int):
                pacer = pacer or Pacer(ts, speed)
                wait = pacer.delay(ts)
                if wait > 0.005:
                    await producer.ship_all()
                    await asyncio.sleep(wait)
            topic = topic_for(rec.obj.get("type"), producer.topics)
        else:
            topic = views
        await producer.send_raw(topic, rec.key, rec.value)
        truth.observe(rec.obj, rec.expect)
        if progress:
            progress.tick()
    await producer.flush()
    return truth
