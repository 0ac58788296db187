"""Repeated errors: one line per kind per period, the next one carrying the count."""

from __future__ import annotations

import logging

from alerts.logthrottle import LogThrottle, ThrottleFilter


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_ten_thousand_identical_errors_make_a_few_lines(caplog):
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("test.throttle")
    clock = Clock()
    throttle = LogThrottle(60, clock)
    for i in range(10_000):
        clock.t += 0.03  # 10,000 errors over 300 s
        try:
            raise ConnectionError(f"Redis went away ({i})")
        except ConnectionError:
            throttle.exception(log, ("redis", "ConnectionError"), "reading room %s failed", i)
    lines = [r for r in caplog.records if r.name == "test.throttle"]
    assert 5 <= len(lines) <= 6  # one a minute
    assert lines[0].exc_info is not None and "(x " not in lines[0].getMessage()
    counted = [int(r.getMessage().split("(x ")[1].split()[0]) for r in lines[1:]]
    assert all("in the last 60 s)" in r.getMessage() for r in lines[1:])
    assert 1 + sum(counted) <= 10_000 and sum(counted) >= 10_000 - 2100  # the last minute waits


def test_kinds_are_throttled_separately_and_memory_is_bounded(caplog):
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("test.kinds")
    throttle = LogThrottle(60, Clock(), max_kinds=100)
    for i in range(1000):
        throttle.error(log, ("rule", i % 3), "rule %s failed", i % 3)
    assert len([r for r in caplog.records if r.name == "test.kinds"]) == 3
    for i in range(1000):
        throttle.warning(log, ("room", i), "room %s", i)
    assert len(throttle._seen) <= 100


def test_the_filter_collapses_repeats_of_loggers_we_do_not_call(caplog):
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("test.filter")
    clock = Clock()
    flt = ThrottleFilter(60, clock, burst=1)
    log.addFilter(flt)
    try:
        for _ in range(500):
            log.error("apply refused by Redis (%s)", "WRONGTYPE")
        log.error("a different message")
        clock.t += 61
        log.error("apply refused by Redis (%s)", "WRONGTYPE")
    finally:
        log.removeFilter(flt)
    msgs = [r.getMessage() for r in caplog.records if r.name == "test.filter"]
    assert msgs == ["apply refused by Redis (WRONGTYPE)", "a different message",
                    "apply refused by Redis (WRONGTYPE) (x 500 in the last 60 s)"]


def test_the_filter_lets_a_burst_through_and_leaves_info_alone(caplog):
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("test.burst")
    flt = ThrottleFilter(60, Clock(), burst=3)
    log.addFilter(flt)
    try:
        for i in range(100):
            log.warning("partition %d lagging", i)
            log.info("assigned %d", i)
    finally:
        log.removeFilter(flt)
    warnings = [r.getMessage() for r in caplog.records
                if r.name == "test.burst" and r.levelno == logging.WARNING]
    infos = [r for r in caplog.records if r.name == "test.burst" and r.levelno == logging.INFO]
    assert warnings == ["partition 0 lagging", "partition 1 lagging", "partition 2 lagging"]
    assert len(infos) == 100
