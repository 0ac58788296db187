"""Repeated errors logged once per kind per period, with a count of the ones held back.

A failure that hits every room on every tick (Redis gone, a broken rule) would otherwise log
thousands of identical tracebacks a minute and fill the disk; one line per kind per minute
says the same thing. Lives in `alerts` (which imports nothing of `streams`) so the evaluator,
the sinks and every `streams` module can share it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable

DEFAULT_PERIOD_S = 60.0
MAX_KINDS = 10_000  # distinct kinds remembered; beyond it the oldest are forgotten


class LogThrottle:
    """`throttle.error(log, kind, msg, *args)`: the first of a kind in a period is logged (with
    the traceback when `exc_info`); the rest are counted, and the next line of that kind says
    "(x N in the last 60 s)". A `kind` is any hashable, e.g. ("rule", rule_id, type(exc))."""

    def __init__(self, period_s: float = DEFAULT_PERIOD_S,
                 clock: Callable[[], float] = time.monotonic, max_kinds: int = MAX_KINDS) -> None:
        self.period_s = period_s
        self.clock = clock
        self.max_kinds = max_kinds
        self._lock = threading.Lock()  # sinks may log from threads (aiohttp, executors)
        # kind -> [time of the last line, suppressed since]
        self._seen: dict[Hashable, list[float]] = {}

    def allow(self, kind: Hashable) -> tuple[bool, int]:
        """(log now?, how many were held back since the last line of this kind)."""
        now = self.clock()
        with self._lock:
            entry = self._seen.get(kind)
            if entry is not None and now - entry[0] < self.period_s:
                entry[1] += 1
                return False, 0
            held = int(entry[1]) if entry is not None else 0
            if entry is None and len(self._seen) >= self.max_kinds:
                # Forget the oldest half: a flood of distinct kinds must not grow memory.
                for k in sorted(self._seen, key=lambda k: self._seen[k][0])[: self.max_kinds // 2]:
                    del self._seen[k]
            self._seen[kind] = [now, 0]
            return True, held

    def log(self, logger: logging.Logger, level: int, kind: Hashable, msg: str, *args: object,
            exc_info: bool = False) -> bool:
        """Log `msg % args` unless this kind already logged within the period; True if logged."""
        ok, held = self.allow(kind)
        if not ok:
            return False
        if held:
            msg = f"{msg} (x {held + 1} in the last {self.period_s:g} s)"
        logger.log(level, msg, *args, exc_info=exc_info)
        return True

    def error(self, logger: logging.Logger, kind: Hashable, msg: str, *args: object,
              exc_info: bool = False) -> bool:
        return self.log(logger, logging.ERROR, kind, msg, *args, exc_info=exc_info)

    def warning(self, logger: logging.Logger, kind: Hashable, msg: str, *args: object,
                exc_info: bool = False) -> bool:
        return self.log(logger, logging.WARNING, kind, msg, *args, exc_info=exc_info)

    def exception(self, logger: logging.Logger, kind: Hashable, msg: str, *args: object) -> bool:
        """ERROR with the traceback of the exception being handled (once per kind per period)."""
        return self.log(logger, logging.ERROR, kind, msg, *args, exc_info=True)


class ThrottleFilter(logging.Filter):
    """A logging.Filter for loggers we do not call ourselves (the worker loop, aiohttp):
    WARNING and above with the same logger, level and message template pass `burst` times per
    period (a few distinct occurrences stay visible), the rest are counted, and the next one
    that passes carries the count. INFO and below are left alone."""

    def __init__(self, period_s: float = DEFAULT_PERIOD_S,
                 clock: Callable[[], float] = time.monotonic, burst: int = 10,
                 min_level: int = logging.WARNING) -> None:
        super().__init__()
        self.throttle = LogThrottle(period_s, clock)
        self.burst, self.min_level = burst, min_level
        # (logger, level, template) -> (period start, lines passed in it)
        self._passed: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level:
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self.throttle.clock()
        start, passed = self._passed.get(kind, (None, 0))
        if start is None or now - start >= self.throttle.period_s:
            # a new period: this line passes, with the count of those held in the last one
            _, held = self.throttle.allow(kind)
            if len(self._passed) >= self.throttle.max_kinds:
                self._passed.clear()
            self._passed[kind] = (now, 1)
            if held:
                record.msg = f"{record.msg} (x {held + 1} in the last " \
                             f"{self.throttle.period_s:g} s)"
            return True
        if passed < self.burst:
            self._passed[kind] = (start, passed + 1)
            return True
        return self.throttle.allow(kind)[0]  # counted until the period is over


# One process-wide throttle: the kinds name their source, so sharing it is safe.
THROTTLE = LogThrottle()


def exc_kind(exc: BaseException) -> str:
    """The kind of an exception for throttling: its class, not its message (ids vary)."""
    return type(exc).__qualname__
