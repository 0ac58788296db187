"""The worker's alert reader with history: the KPI store's reads, plus `same_minute` from the
history store, so the evaluator finds alerts.history.HistoryBaselines on the reader (its
snapshot cache checks the reader it was given) and `history` rules get their past broadcasts.
"""

from __future__ import annotations

from alerts.history import HistoryBaselines
from alerts.reader import KpiReader, MaybeAwaitable
from schemas.kpis import ProductSnapshot, RoomSnapshot, RoomState, SourceSnapshot


class KpiReaderWithHistory:
    """A KpiReader (every read goes to `kpis`) that is also a HistoryBaselines."""

    def __init__(self, kpis: KpiReader, history: HistoryBaselines) -> None:
        self.kpis, self.history = kpis, history

    def rooms(self) -> MaybeAwaitable[list[RoomState]]:
        return self.kpis.rooms()

    def room_state(self, room_id: str) -> MaybeAwaitable[RoomState | None]:
        return self.kpis.room_state(room_id)

    def room_kpis(self, room_id: str, window: str, now_ms: int | None = None
                  ) -> MaybeAwaitable[RoomSnapshot]:
        return self.kpis.room_kpis(room_id, window, now_ms)

    def product_kpis(self, room_id: str, window: str, now_ms: int | None = None
                     ) -> MaybeAwaitable[list[ProductSnapshot]]:
        return self.kpis.product_kpis(room_id, window, now_ms)

    def source_kpis(self, room_id: str, window: str, now_ms: int | None = None
                    ) -> MaybeAwaitable[list[SourceSnapshot]]:
        return self.kpis.source_kpis(room_id, window, now_ms)

    def stream_clock_ms(self) -> MaybeAwaitable[int | None]:
        return self.kpis.stream_clock_ms()

    def same_minute(self, room_id: str, kpi: str, window: str, minute: int, last: int
                    ) -> MaybeAwaitable[list[float]]:
        return self.history.same_minute(room_id, kpi, window, minute, last)
