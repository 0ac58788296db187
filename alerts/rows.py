"""What rules read: one series' Reading, rows of KPIs per fan-out member, and the per-evaluation
snapshot cache they come from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, cast

from alerts.history import HistoryBaselines
from alerts.lifecycle import Cond
from alerts.model import Evidence
from alerts.reader import KpiReader, resolve
from schemas.kpis import KpiValue


@dataclass
class Reading:
    """One series' status now; `labels` are the fan-out labels that make its fingerprint."""

    cond: Cond
    evidence: Evidence
    labels: dict[str, str] = field(default_factory=dict)
    product_id: str | None = None
    product_name: str | None = None
    source: str | None = None
    versus: str | None = None  # the baseline compared with, when not the rule's own


class RoomRows(Protocol):
    """What a room-level read returns (schemas.kpis.RoomSnapshot, or a lighter row)."""

    @property
    def kpis(self) -> Mapping[str, KpiValue]: ...


class ProductRows(RoomRows, Protocol):
    @property
    def product_id(self) -> str: ...

    @property
    def product_name(self) -> str | None: ...


class SourceRows(RoomRows, Protocol):
    @property
    def source(self) -> str: ...


# A read of one level: a room's snapshot, or one snapshot per product / traffic source.
LevelRead = RoomRows | Iterable[ProductRows] | Iterable[SourceRows]
CacheKey = tuple[str, str, str, int]  # (room, level, window, end)


@dataclass(slots=True)
class Row:
    """KPIs of one fan-out member (the room, a product or a traffic source).

    Read-only by convention, not frozen: a tick builds tens of thousands, and a frozen
    dataclass's __init__ (object.__setattr__ per field) was ~3% of it. `kpis` may be the
    reader's cached dict: never mutate it."""

    key: dict[str, str]
    kpis: dict[str, KpiValue]
    product_id: str | None = None
    product_name: str | None = None
    source: str | None = None


class RowSource(Protocol):
    """Where rules get their rows: a SnapshotCache, or roomreading's dry-run recorder."""

    async def rows(self, room_id: str, per: str, window: str, now_ms: int) -> list[Row]: ...


class SnapshotCache:
    """Reads each (room, level, window, end) once per evaluation."""

    def __init__(self, reader: KpiReader) -> None:
        self.reader = reader
        self._cache: dict[CacheKey, list[Row]] = {}

    def put(self, room_id: str, per: str, window: str, now_ms: int,
            result: LevelRead) -> None:
        """Prefill from a batch read: a RoomSnapshot, or a list of product/source snapshots."""
        self._cache[(room_id, per, window, now_ms)] = to_rows(per, result)

    @property
    def history(self) -> HistoryBaselines | None:
        """The reader's past broadcasts, when it has them (the `history` rule kind)."""
        return self.reader if isinstance(self.reader, HistoryBaselines) else None

    async def rows(self, room_id: str, per: str, window: str, now_ms: int) -> list[Row]:
        key = (room_id, per, window, now_ms)
        if key not in self._cache:
            result: LevelRead
            if per == "room":
                result = await resolve(self.reader.room_kpis(room_id, window, now_ms))
            elif per == "product":
                result = await resolve(self.reader.product_kpis(room_id, window, now_ms))
            else:
                result = await resolve(self.reader.source_kpis(room_id, window, now_ms))
            self._cache[key] = to_rows(per, result)
        return self._cache[key]


def to_rows(per: str, result: LevelRead) -> list[Row]:
    # The level decides the shape of the read, which the type of `result` cannot say.
    if per == "room":
        return [Row({}, _dict(cast(RoomRows, result).kpis))]
    if per == "product":
        products = cast(Iterable[ProductRows], result)
        return [Row({"product_id": s.product_id}, _dict(s.kpis), s.product_id,
                    s.product_name) for s in products]
    sources = cast(Iterable[SourceRows], result)
    return [Row({"source": s.source}, _dict(s.kpis), source=s.source) for s in sources]


def _dict(kpis: Mapping[str, KpiValue]) -> dict[str, KpiValue]:
    # Rules only read rows: a dict is used as it is, not copied (10 product rows a room a tick).
    return kpis if type(kpis) is dict else dict(kpis)
