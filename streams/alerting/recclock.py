"""The recording's clock: what "now" was while a recording was made, from the messages alone.

The live worker decodes with its wall clock as `now`, so an event more than MAX_FUTURE_MS ahead
of it is `future_ts`. A recording has no wall clock; its stand-in is the newest event time seen
so far (or the producer's record timestamp, when the input has one). Taken naively, one event
ten years ahead would move that clock ten years and make every later event "history": nothing
future, every room silent. So a message moves the clock only when it is credible:

- it is within MAX_FUTURE_MS of the clock (the common case), or
- it is further ahead, and most of the next EVIDENCE messages with a time agree that time has
  moved on (none of them more than MAX_FUTURE_MS before it): a gap in the recording, or a
  sparse one. An outlier ahead is followed by messages of the old time, and stays an outlier.
  The last timed message of the input, with no one after it, counts if it is at most
  LAST_AHEAD_MS ahead.

Decisions wait for that evidence, so records come out in order, a few messages late.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import islice

from schemas.events import MAX_FUTURE_MS
from streams.alerting.recordings import InputRecord

EVIDENCE = 5  # later timed messages consulted about one that is ahead of the clock
AGREE = 3  # of them, how many must agree that time moved on
MAX_WAITING = 1_000  # records held while waiting for evidence (untimed lines pile up here)
LAST_AHEAD_MS = 30 * 60_000  # the input's last timed message may be this far ahead


class RecordingClock:
    """Feed records in order with `push`, then `finish`; both yield (record, credible)."""

    def __init__(self, allow_ms: int = MAX_FUTURE_MS, evidence: int = EVIDENCE,
                 agree: int = AGREE) -> None:
        self.allow_ms, self.evidence, self.agree = allow_ms, evidence, agree
        self.now: int | None = None
        self.outliers = 0  # timed messages that did not move the clock (ahead, unconfirmed)
        self._waiting: deque[InputRecord] = deque()

    def push(self, rec: InputRecord) -> Iterator[tuple[InputRecord, bool]]:
        self._waiting.append(rec)
        yield from self._decide(final=False)

    def finish(self) -> Iterator[tuple[InputRecord, bool]]:
        """The records still waiting, decided on the evidence there is."""
        yield from self._decide(final=True)

    def _decide(self, final: bool) -> Iterator[tuple[InputRecord, bool]]:
        waiting = self._waiting
        while waiting:
            head = waiting[0]
            t = head.hint
            if t is None:
                credible = False
            elif self.now is not None and t <= self.now + self.allow_ms:
                credible = True
            else:
                forced = final or len(waiting) > MAX_WAITING
                timed = (r.hint for r in islice(waiting, 1, None) if r.hint is not None)
                later = list(islice(timed, self.evidence))
                if len(later) < self.evidence and not forced:
                    return  # wait for more messages
                votes = sum(1 for x in later if x >= t - self.allow_ms)
                if len(later) >= self.evidence:
                    credible = votes >= self.agree
                elif later:  # the end of the input: a majority of what there is
                    credible = 2 * votes > len(later)
                else:  # the last timed message: no one left to ask; a sparse recording's
                    # last event counts, an outlier far ahead does not
                    credible = self.now is None or t <= self.now + LAST_AHEAD_MS
                if not credible:
                    self.outliers += 1
            waiting.popleft()
            if credible and t is not None:  # only a timed message is ever credible
                self.now = t if self.now is None else max(self.now, t)
            if head.timestamp is not None:  # the producer's clock is trusted, like a wall clock
                self.now = head.timestamp if self.now is None else max(self.now, head.timestamp)
            yield head, credible
