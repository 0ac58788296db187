"""The notification log: what was last sent to whom, so dedup survives a restart."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: str  # firing | resolved
    sent_at: int  # stream clock ms
    starts_at: int  # which firing episode


class NotificationLog(Protocol):
    async def get(self, keys: Iterable[str]) -> dict[str, Entry]: ...

    async def put(self, entries: dict[str, Entry]) -> None: ...

    async def delete(self, keys: Iterable[str]) -> None: ...


class InMemoryNotificationLog:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    async def get(self, keys: Iterable[str]) -> dict[str, Entry]:
        return {k: Entry.model_validate_json(self.data[k]) for k in keys if k in self.data}

    async def put(self, entries: dict[str, Entry]) -> None:
        self.data.update({k: e.model_dump_json() for k, e in entries.items()})

    async def delete(self, keys: Iterable[str]) -> None:
        for k in keys:
            self.data.pop(k, None)
