"""Where alert series live between evaluations: the store protocol and the in-memory store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from alerts.lifecycle import Series


class SeriesStore(Protocol):
    """Persisted lifecycle state, so a restart neither drops nor repeats a firing alert."""

    async def load(self) -> dict[str, Series]: ...

    async def save(self, upserts: Iterable[Series], deletes: Iterable[str]) -> None: ...


class InMemorySeriesStore:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}  # JSON, like Redis holds it, so tests see real round trips

    async def load(self) -> dict[str, Series]:
        return {fp: Series.model_validate_json(raw) for fp, raw in self.data.items()}

    async def save(self, upserts: Iterable[Series], deletes: Iterable[str]) -> None:
        for s in upserts:
            self.data[s.fingerprint] = s.model_dump_json()
        for fp in deletes:
            self.data.pop(fp, None)
