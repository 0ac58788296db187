"""Event-time policy: which events are too old, which are late (still applied), which are future.

One skewed clock must not move time for anyone else. Three rules keep it so:

- An event more than `ahead_of_record_ms` ahead of its Kafka record timestamp is `future_ts`
  (wall-clock future events are already rejected by the decoder).
- A partition's watermark is the running maximum of the MEDIAN of its last `SAMPLE` accepted
  event times, not of the newest event: one event an hour ahead moves it by nothing, a whole
  partition moving forward moves it within `SAMPLE / 2` events.
- Late data counts. An event behind the watermark by more than the grace is applied to its own
  bucket all the same (and counted as late, with its lateness); only an event behind by more
  than `too_old_ms` (what the store still reads) is dead-lettered `too_old`.

The stream clock that rolling windows end at moves by a robust statistic too
(`streams.kpi.fold.robust_clock`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from statistics import median_low

TP = tuple[str, int]
SAMPLE = 33  # accepted event times kept per partition for the watermark's median


@dataclass(frozen=True, slots=True)
class TimePolicy:
    """The thresholds, in milliseconds (0 disables `ahead_of_record_ms`)."""

    grace_ms: int
    too_old_ms: int
    ahead_of_record_ms: int = 0

    @classmethod
    def from_settings(cls, kpi) -> TimePolicy:  # streams.kpi.config.KpiSettings
        return cls(grace_ms=kpi.grace_s * 1000, too_old_ms=kpi.too_old_ms,
                   ahead_of_record_ms=kpi.max_ahead_of_record_s * 1000)

    def too_old(self, ts: int, wm: int | None) -> bool:
        return wm is not None and ts < wm - self.too_old_ms

    def late_by(self, ts: int, wm: int | None) -> int:
        """How far (ms) an event is behind the watermark beyond the grace; 0 when on time."""
        if wm is None or ts >= wm - self.grace_ms:
            return 0
        return wm - ts

    def ahead_of_record(self, ts: int, record_ts: int | None) -> bool:
        return (self.ahead_of_record_ms > 0 and record_ts is not None and record_ts > 0
                and ts > record_ts + self.ahead_of_record_ms)


class Watermarks:
    """Per-partition robust watermarks; replaying the same accepted events rebuilds them."""

    __slots__ = ("_recent", "_value")

    def __init__(self) -> None:
        self._recent: dict[TP, deque[int]] = {}
        self._value: dict[TP, int] = {}

    def get(self, tp: TP) -> int | None:
        return self._value.get(tp)

    def advance(self, tp: TP, accepted_ts: list[int]) -> None:
        if not accepted_ts:
            return
        recent = self._recent.get(tp)
        if recent is None:
            recent = self._recent[tp] = deque(maxlen=SAMPLE)
        recent.extend(accepted_ts[-SAMPLE:])
        candidate = median_low(recent)
        old = self._value.get(tp)
        if old is None or candidate > old:
            self._value[tp] = candidate

    def forget(self, tp: TP) -> None:
        self._recent.pop(tp, None)
        self._value.pop(tp, None)

    def snapshot(self) -> dict[TP, int]:
        return dict(self._value)
