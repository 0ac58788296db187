"""Metrics of the alert evaluation: tick time, rooms evaluated and skipped, overruns, errors."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from alerts.lifecycle import Series, State


@dataclass
class TickStats:
    """What the last evaluation covered (for metrics, logs and the bench). `live`: rooms to
    cover; `evaluated`: read (or found gone/ended); `skipped`: left for the next tick (budget);
    `failed`: their read failed (series left as they were)."""

    live: int = 0
    evaluated: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    # errors met while reading (the metrics count them after the read: it may run elsewhere)
    room_errors: int = 0
    rule_errors: int = 0


class EvalMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram("roompulse_alert_evaluation_seconds",
                                  "Time one evaluation tick takes (reads, lifecycle, state save)",
                                  registry=registry)
        self.series = Gauge("roompulse_alert_series", "Alert series by lifecycle state",
                            ["state"], registry=registry)
        self.tick_rooms = Gauge("roompulse_alert_tick_rooms",
                                "Rooms in the last evaluation: live (to cover), evaluated, "
                                "skipped (left for the next one: budget) and failed (read "
                                "failed, series kept)", ["outcome"], registry=registry)
        self.evaluated_total = Counter("roompulse_alert_rooms_evaluated_total",
                                       "Room evaluations done", registry=registry)
        self.skipped_total = Counter("roompulse_alert_rooms_skipped_total",
                                     "Room evaluations skipped because the time budget ran out",
                                     registry=registry)
        self.overruns = Counter("roompulse_alert_evaluation_overruns_total",
                                "Evaluations that ran out of their time budget before every "
                                "live room was read", registry=registry)
        self.errors = Counter("roompulse_alert_evaluation_errors_total",
                              "Failed reads: kind=room (the room's read failed, its series kept) "
                              "or rule (one rule failed on one room)", ["kind"],
                              registry=registry)
        for kind in ("room", "rule"):
            self.errors.labels(kind)

    def observe(self, tick: TickStats, series: dict[str, Series]) -> None:
        self.duration.observe(tick.seconds)
        for outcome in ("live", "evaluated", "skipped", "failed"):
            self.tick_rooms.labels(outcome).set(getattr(tick, outcome))
        self.evaluated_total.inc(tick.evaluated)
        if tick.skipped:
            self.skipped_total.inc(tick.skipped)
            self.overruns.inc()
        for st in (State.pending, State.firing):
            self.series.labels(st.value).set(sum(1 for s in series.values() if s.state == st))
