"""The live-rooms bench's view of the worker: timed HTTP probes and /metrics differences.

/healthz every 0.2 s on the probe port (its own thread: what Kubernetes probes) and on the web
port (the event loop: what the API's clients wait behind), the first page of GET /api/rooms
every 0.5 s and /metrics every 5 s (a Prometheus server scrapes every 15 s; more often would make
the scrape itself the load).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

from streams.bench import promtext
from streams.bench.measure import percentile

WANTED = ("roompulse_alert_", "roompulse_worker_loop_", "roompulse_worker_live_rooms",
          "roompulse_worker_rooms_refused",
          "roompulse_worker_processed_total", "roompulse_worker_event_time_lag",
          "roompulse_worker_dead_lettered_total", "roompulse_metrics_truncated")
TICK = "roompulse_alert_evaluation_seconds"
LAG = "roompulse_worker_loop_lag_seconds"
EVERY_S = {"healthz": 0.2, "healthz_web": 0.2, "api_rooms": 0.5, "metrics": 5.0}


@dataclass
class Scrape:
    samples: promtext.Samples
    ms: float


async def scrape(http: aiohttp.ClientSession, api: str) -> Scrape:
    t = time.perf_counter()
    async with http.get(f"{api}/metrics") as r:
        text = await r.text()
        if r.status != 200:
            raise ValueError(f"/metrics answered {r.status}")
    ms = (time.perf_counter() - t) * 1000
    return Scrape(promtext.parse(text, WANTED), ms)


def _sum(s: promtext.Samples, name: str) -> float:
    return sum(v for (n, _), v in s.items() if n == name)


def summary(before: Scrape, after: Scrape, wall_s: float) -> dict:
    """Evaluation and ingest figures between two scrapes."""
    a, b = after.samples, before.samples
    ticks = (promtext.value(a, f"{TICK}_count") or 0) - (promtext.value(b, f"{TICK}_count") or 0)
    spent = (promtext.value(a, f"{TICK}_sum") or 0) - (promtext.value(b, f"{TICK}_sum") or 0)
    hist = promtext.delta(promtext.buckets(a, TICK), promtext.buckets(b, TICK))
    done = _sum(a, "roompulse_alert_rooms_evaluated_total") - _sum(
        b, "roompulse_alert_rooms_evaluated_total")
    skipped = _sum(a, "roompulse_alert_rooms_skipped_total") - _sum(
        b, "roompulse_alert_rooms_skipped_total")

    def ms(q: float) -> float | None:
        v = promtext.quantile(q, hist)
        return None if v is None else round(v * 1000, 1)

    lag = promtext.delta(promtext.buckets(a, LAG), promtext.buckets(b, LAG))

    def lag_ms(q: float) -> float | None:
        v = promtext.quantile(q, lag)
        return None if v is None else round(v * 1000, 1)

    tick_rooms = {o: promtext.value(a, "roompulse_alert_tick_rooms", outcome=o)
                  for o in ("live", "evaluated", "skipped", "failed")}
    live = tick_rooms["live"] or 0
    return {
        # From the worker's tick histogram (interpolated inside its buckets, as
        # Prometheus' histogram_quantile does): ..., 0.5, 0.75, 1, 2.5 s.
        "eval_tick_p50_ms": ms(0.5), "eval_tick_p99_ms": ms(0.99),
        "eval_tick_mean_ms": round(spent / ticks * 1000, 1) if ticks else None,
        "eval_ticks": int(ticks), "eval_ticks_per_s": round(ticks / wall_s, 2),
        "eval_rooms_per_tick": round(done / ticks) if ticks else None,
        # Rooms evaluated per tick over the rooms to cover (1.0: every live room, every tick).
        "eval_coverage": round(done / ticks / live, 3) if ticks and live else None,
        "eval_rooms_skipped": int(skipped),
        "eval_overruns": int(_sum(a, "roompulse_alert_evaluation_overruns_total")
                             - _sum(b, "roompulse_alert_evaluation_overruns_total")),
        "eval_errors": {k: int((promtext.value(a, "roompulse_alert_evaluation_errors_total",
                                               kind=k) or 0)
                               - (promtext.value(b, "roompulse_alert_evaluation_errors_total",
                                                 kind=k) or 0)) for k in ("room", "rule")},
        "eval_tick_rooms_last": tick_rooms,
        # How late the worker's event loop woke a 0.1 s sleeper: what /healthz waits behind.
        "loop_lag_p50_ms": lag_ms(0.5), "loop_lag_p99_ms": lag_ms(0.99),
        "loop_stalls": int((promtext.value(a, "roompulse_worker_loop_stalls_total") or 0)
                           - (promtext.value(b, "roompulse_worker_loop_stalls_total") or 0)),
        "alert_series": {s: promtext.value(a, "roompulse_alert_series", state=s)
                         for s in ("pending", "firing")},
        "worker_live_rooms": promtext.value(a, "roompulse_worker_live_rooms"),
        "worker_live_rooms_limit": promtext.value(a, "roompulse_worker_live_rooms_limit"),
        "worker_rooms_refused_total": promtext.value(a, "roompulse_worker_rooms_refused_total"),
        "worker_events_per_s": round((_sum(a, "roompulse_worker_processed_total")
                                      - _sum(b, "roompulse_worker_processed_total")) / wall_s),
        "worker_dead_lettered_per_s": round(
            (_sum(a, "roompulse_worker_dead_lettered_total")
             - _sum(b, "roompulse_worker_dead_lettered_total")) / wall_s),
    }


@dataclass
class Probes:
    http: aiohttp.ClientSession
    api: str
    probe: str  # the probe server's base URL (ROOMPULSE_API_PROBE_PORT)
    ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in EVERY_S})
    failed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVERY_S, 0))

    async def _get(self, name: str) -> None:
        url = {"healthz": self.probe + "/healthz", "healthz_web": self.api + "/healthz",
               "api_rooms": self.api + "/api/rooms", "metrics": self.api + "/metrics"}[name]
        t = time.perf_counter()
        try:
            async with self.http.get(url) as r:
                await r.read()
                ok = r.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            self.ms[name].append((time.perf_counter() - t) * 1000)
        else:
            self.failed[name] += 1

    async def _loop(self, name: str, until: float) -> None:
        while time.monotonic() < until:
            t = time.monotonic()
            await self._get(name)
            await asyncio.sleep(max(0.0, EVERY_S[name] - (time.monotonic() - t)))

    async def run(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(self._loop(name, until) for name in EVERY_S))

    def figures(self) -> dict:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 1)

        h, a, m = self.ms["healthz"], self.ms["api_rooms"], self.ms["metrics"]
        w = self.ms["healthz_web"]
        return {"healthz_p50_ms": r(percentile(h, 50)), "healthz_p99_ms": r(percentile(h, 99)),
                "healthz_web_p50_ms": r(percentile(w, 50)),
                "healthz_web_p99_ms": r(percentile(w, 99)),
                "api_rooms_p50_ms": r(percentile(a, 50)),
                "api_rooms_p99_ms": r(percentile(a, 99)),
                "metrics_scrape_ms": r(percentile(m, 50)),
                "metrics_scrape_max_ms": r(max(m) if m else None),
                "probes": {k: len(v) for k, v in self.ms.items()},
                "probes_failed": self.failed}
