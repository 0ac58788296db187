"""BrokerWatch's down/back decision and the aiokafka log throttle, on a fake clock."""

from __future__ import annotations

import logging

import pytest

from streams.worker.broker_watch import (
    AIOKAFKA_LOGGERS,
    BrokerWatch,
    RepeatThrottle,
    throttle_aiokafka_logs,
)
from streams.worker.retry import Outage

log = logging.getLogger("tests.broker_watch")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def setup(caplog):
    caplog.set_level(logging.WARNING, logger=log.name)
    clock = Clock()
    outage = Outage("Kafka broker", log)
    return BrokerWatch(outage, stale_s=3.0, busy_s=1.0, clock=clock), clock, outage, caplog


def idle(watch: BrokerWatch, clock: Clock, seconds: float, stamp: int | None = 5,
         fetching: bool = True, step: float = 0.1) -> None:
    """The loop calling getmany() every `step` s, getting nothing and the same stamp."""
    end = clock.t + seconds
    while clock.t < end - 1e-9:
        clock.t += step
        watch.observe(False, stamp, fetching)


def lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def test_silence_while_fetching_is_one_outage_and_records_end_it(setup):
    watch, clock, outage, caplog = setup
    watch.observe(True, 5, True)
    idle(watch, clock, 2.9)
    assert not outage.down
    idle(watch, clock, 60)  # a long outage: still one line
    assert outage.down
    watch.observe(True, 5, True)
    assert not outage.down
    down = "Kafka broker unavailable (BrokerSilent: no fetch response for 3.0s); pausing and " \
           "retrying"
    assert lines(caplog) == [down, "Kafka broker is back; resuming"]


def test_a_new_stamp_is_an_answer_even_without_records(setup):
    watch, clock, outage, caplog = setup
    for stamp in range(100):  # idle topics: empty fetch responses keep coming
        clock.t += 0.1
        watch.observe(False, stamp, True)
    assert not outage.down and not caplog.records
    idle(watch, clock, 4, stamp=99)
    assert outage.down
    clock.t += 0.1
    watch.observe(False, 100, True)
    assert not outage.down


def test_a_busy_loop_restarts_the_clock(setup):
    watch, clock, outage, _ = setup
    watch.observe(True, 5, True)
    for _ in range(5):  # e.g. a Redis outage: each getmany() comes seconds after the last
        clock.t += 2.5
        watch.observe(False, 5, True)
    assert not outage.down
    idle(watch, clock, 3.05)
    assert outage.down


@pytest.mark.parametrize("stamp", [5, None])
def test_nothing_to_fetch_gives_no_verdict(setup, stamp):
    watch, clock, outage, _ = setup
    watch.observe(True, 5, True)
    idle(watch, clock, 10, stamp=stamp, fetching=False)  # all paused, or nothing assigned
    assert not outage.down


def test_a_new_assignment_not_yet_fetched_restarts_the_clock(setup):
    watch, clock, outage, _ = setup
    watch.observe(False, 5, True)
    idle(watch, clock, 2.5)
    idle(watch, clock, 2.5, stamp=None)  # rebalanced: no fetch response for the new one yet
    assert not outage.down
    idle(watch, clock, 1.0, stamp=None)
    assert outage.down  # the new assignment gets no answer either


def test_throttle_lets_one_per_template_through_then_counts_the_rest():
    clock = Clock()
    throttle = RepeatThrottle(every_s=30, clock=clock)

    def rec(msg: str, *args, level=logging.ERROR, name="aiokafka") -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, msg, args, None)

    assert throttle.filter(rec("Unable connect to node %s", 1))
    assert throttle.filter(rec("Failed fetch messages from %s", 1))  # another template
    assert throttle.filter(rec("Unable connect to node %s", 1, name="aiokafka.conn"))
    for _ in range(50):
        clock.t += 0.1
        assert not throttle.filter(rec("Unable connect to node %s", 2))
    assert throttle.filter(rec("Unable connect to node %s", 2, level=logging.INFO))
    clock.t += 30
    later = rec("Unable connect to node %s", 3)
    assert throttle.filter(later)
    assert later.getMessage() == "Unable connect to node 3 [50 more like this in the last 35s " \
                                 "not logged]"
    assert throttle.filter(rec("Unable connect to node %s", 3)) is False


def test_throttle_is_installed_once_on_every_aiokafka_logger():
    try:
        first = throttle_aiokafka_logs()
        assert throttle_aiokafka_logs() is first
        for name in AIOKAFKA_LOGGERS:
            filters = logging.getLogger(name).filters
            assert filters.count(first) == 1, name
    finally:
        for name in logging.root.manager.loggerDict:
            if name.startswith("aiokafka"):
                logger = logging.getLogger(name)
                for f in [f for f in logger.filters if isinstance(f, RepeatThrottle)]:
                    logger.removeFilter(f)
