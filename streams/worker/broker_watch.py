"""Kafka broker outages made visible: one line down, one line back, aiokafka's repeats throttled."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from streams.worker.retry import Outage

DEFAULT_STALE_S = 3.0
DEFAULT_BUSY_S = 1.0
THROTTLE_EVERY_S = 30.0
# aiokafka logs each failed connect, metadata refresh, fetch and heartbeat on its own logger
# (~75 ERROR lines a second against one dead broker). Logger filters are not inherited.
AIOKAFKA_LOGGERS = ("aiokafka", "aiokafka.conn", "aiokafka.cluster", "aiokafka.client",
                    "aiokafka.consumer.fetcher", "aiokafka.consumer.group_coordinator",
                    "aiokafka.consumer.consumer", "aiokafka.producer.sender",
                    "aiokafka.producer.producer", "aiokafka.admin.client")


class BrokerSilent(Exception):
    """No fetch response arrived for a while although the consumer kept fetching."""


class BrokerWatch:
    """Decides "broker down / back" from fetch responses, not from exceptions.

    aiokafka's fetcher retries a lost broker in the background while getmany() keeps returning
    empty batches, so an outage raises nothing. Every fetch response stamps the partitions it
    covers (`last_poll_timestamp`, even when empty), so: records or a new stamp = the broker
    answers; no new stamp for `stale_s` while the loop kept asking (getmany() calls less than
    `busy_s` apart, some assigned partition unpaused) = it does not. A loop that was busy
    elsewhere (a Redis outage, a rebalance, a slow apply) starts the clock again instead of
    blaming Kafka, and so does a new assignment that has not been fetched yet.
    """

    def __init__(self, outage: Outage, stale_s: float = DEFAULT_STALE_S,
                 busy_s: float = DEFAULT_BUSY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.outage = outage
        self.stale_s, self.busy_s = stale_s, busy_s
        self._clock = clock
        self._last_stamp: int | None = None
        self._since: float | None = None  # when the current wait for a response began
        self._last_call: float | None = None

    def fetched(self, consumer: AIOKafkaConsumer, batch: dict) -> None:
        """Call after every getmany() that returned (records or not)."""
        stamp, fetching = newest_stamp(consumer)
        self.observe(bool(batch), stamp, fetching)

    def observe(self, got_records: bool, stamp: int | None, fetching: bool) -> None:
        """The decision itself, for one getmany() result: no I/O."""
        now = self._clock()
        gap = None if self._last_call is None else now - self._last_call
        self._last_call = now
        if got_records or (stamp is not None and stamp != self._last_stamp):
            self._last_stamp = stamp if stamp is not None else self._last_stamp
            self._since = now
            self.outage.ok()
            return
        fresh = stamp is None and self._last_stamp is not None  # new assignment, unfetched
        if fresh:
            self._last_stamp = None
        if fresh or not fetching or self._since is None or gap is None or gap > self.busy_s:
            self._since = now  # nothing was asked, or we were not looking: no verdict yet
            return
        silent = now - self._since
        if silent >= self.stale_s:
            self.outage.failed(BrokerSilent(f"no fetch response for {silent:.1f}s"))


def newest_stamp(consumer: AIOKafkaConsumer) -> tuple[int | None, bool]:
    """(newest fetch-response stamp of the owned partitions, whether any is being fetched)."""
    owned = consumer.assignment()
    if not owned:
        return None, False
    stamps = [consumer.last_poll_timestamp(tp) for tp in owned]
    newest = max((s for s in stamps if s is not None), default=None)
    return newest, bool(owned - consumer.paused())


class RepeatThrottle(logging.Filter):
    """Lets one WARNING+ record per (logger, message template) through every `every_s`; the
    next one let through says how many were held back. DEBUG/INFO pass untouched."""

    def __init__(self, every_s: float = THROTTLE_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every_s = every_s
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every_s:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.getMessage()} [{held} more like this in the last " \
                         f"{now - (last if last is not None else now):.0f}s not logged]"
            record.args = None
        return True


def throttle_aiokafka_logs(every_s: float = THROTTLE_EVERY_S) -> RepeatThrottle:
    """Install one RepeatThrottle on every aiokafka logger (idempotent); return it."""
    names = set(AIOKAFKA_LOGGERS) | {n for n in logging.root.manager.loggerDict
                                     if n.startswith("aiokafka")}
    existing = next((f for n in names for f in logging.getLogger(n).filters
                     if isinstance(f, RepeatThrottle)), None)
    throttle = existing or RepeatThrottle(every_s)
    for name in sorted(names):
        logger = logging.getLogger(name)
        if throttle not in logger.filters:
            logger.addFilter(throttle)
    return throttle
