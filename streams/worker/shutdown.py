"""A hard shutdown deadline: graceful stop first, `os._exit` if it has not finished in time.

A graceful stop can wait on things that never come back (an apply retrying against a dead
Redis, a producer flushing to a dead broker, a consumer group leave). Exactness does not depend
on a clean stop - Redis holds the KPIs and the offsets in one atomic apply - so after the
deadline the process exits without further ado and a restart resumes from the Redis offsets.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

import faust

EXIT_DEADLINE = 75  # EX_TEMPFAIL: "try again" - a restart resumes exactly


class HardDeadline:
    """Arms once; after `seconds` it writes one line to stderr and ends the process.

    A daemon thread, not an asyncio timer: it must fire even when the event loop is blocked.
    It writes with `os.write`, not `logging`, so no lock held by a stuck thread can stop it.
    """

    def __init__(self, seconds: float, exit_code: int = EXIT_DEADLINE) -> None:
        self.seconds = seconds
        self.exit_code = exit_code
        self._timer: threading.Timer | None = None
        self._armed_at = 0.0
        self._lock = threading.Lock()

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def arm(self, why: str) -> None:
        with self._lock:
            if self._timer is not None:
                return  # the first reason counts: a second SIGTERM does not extend the deadline
            self._armed_at = time.monotonic()
            self._why = why
            self._timer = threading.Timer(self.seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()

    def _fire(self) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        line = (f"{stamp} ERROR streams.worker.shutdown: graceful stop after {self._why} did not "
                f"finish within {self.seconds:g}s; exiting now with code {self.exit_code} "
                "(Redis offsets keep the KPIs exact; a restart resumes from them)\n")
        with contextlib.suppress(OSError, ValueError):  # stderr closed: exit all the same
            os.write(sys.stderr.fileno(), line.encode())
        os._exit(self.exit_code)


class DeadlineWorker(faust.Worker):
    """faust.Worker that arms a HardDeadline on SIGTERM/SIGINT and on any other shutdown."""

    def __init__(self, *args, deadline: HardDeadline, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def _on_sigterm(self) -> None:
        self.deadline.arm("SIGTERM")
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self.deadline.arm("SIGINT")
        super()._on_sigint()

    def on_worker_shutdown(self) -> None:
        # Reached when the worker stops for any reason (a crash included), before its services
        # stop: the same bound applies to that stop.
        self.deadline.arm("shutdown")
        super().on_worker_shutdown()
