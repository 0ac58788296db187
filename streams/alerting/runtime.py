"""One alert tick for the live worker: evaluate over the KPI store, push the alerts through
the pipeline."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from alerts.evaluator import EvalResult, Evaluator
from alerts.pipeline import Pipeline
from alerts.reader import KpiReader, resolve
from alerts.reload import AlertConfig
from alerts.silences import SilenceStore

log = logging.getLogger(__name__)


@dataclass
class StreamClock:
    """The stream clock, run on by wall time while no event arrives, and held while the
    worker cannot read its events.

    Without the run-on a deployment whose only room goes silent would freeze its clock and
    never see the silence; with it, time moves at least at wall speed (simulations run
    faster). Held (`hold=True`: the Kafka broker or Redis is unreachable) it stops: a room's
    events may be waiting in a broker we cannot reach or in a batch we cannot apply, so the
    outage must not count as the room's silence. Before, every live room raised
    `room-stalled` ("check the stream now") three seconds into a Kafka outage. When the hold
    ends the clock runs on from where it stopped.
    """

    wall: Callable[[], float] = time.monotonic
    _last: int | None = None
    _seen_at: float = 0.0
    _held_at: float | None = None  # wall time the current hold began

    async def now(self, reader: KpiReader, hold: bool = False) -> int | None:
        wall = self.wall()
        if hold and self._held_at is None:
            self._held_at = wall  # before the read: a tick that cannot read (Redis down) holds
        clock = await resolve(reader.stream_clock_ms())
        if clock is None:
            return None
        if self._last is None or clock > self._last:
            self._last, self._seen_at = clock, wall
            self._held_at = wall if hold else None
            return clock
        if hold:
            wall = self._held_at if self._held_at is not None else wall
        elif self._held_at is not None:
            self._seen_at += wall - self._held_at  # the time held does not count
            self._held_at = None
        return self._last + int((wall - self._seen_at) * 1000)


@dataclass
class AlertRuntime:
    """What the leader timer calls every second."""

    reader: KpiReader
    evaluator: Evaluator
    pipeline: Pipeline
    config: AlertConfig
    silences: SilenceStore
    clock: StreamClock = field(default_factory=StreamClock)
    # True while the KPI loop cannot read or apply its events (broker or Redis unreachable):
    # the stream clock holds, so silence alerts wait for the events instead of firing on it.
    ingest_down: Callable[[], bool] = lambda: False
    reload_every: int = 5  # ticks between polls of the targets/rule files
    _ticks: int = 0
    # resolutions are emitted once: if delivery failed, carry them to the next tick
    _carry: list = field(default_factory=list)

    async def tick(self) -> EvalResult | None:
        self._ticks += 1
        if self._ticks % self.reload_every == 0:
            self.config.check()
        now = await self.clock.now(self.reader, hold=self.ingest_down())
        if now is None:
            return None  # no event applied yet
        result = await self.evaluator.evaluate(self.reader, now)
        for t in result.transitions:
            if t.state in ("firing", "resolved"):
                log.info("alert %s %s room=%s %s value=%s", t.rule, t.state.value, t.room_id,
                         t.labels, t.value)
        alerts, self._carry = self._carry + result.alerts, []
        try:
            await self.pipeline.run(alerts, now)
        except Exception:
            self._carry = [a for a in alerts if a.state == "resolved"][-1000:]
            raise
        return result
