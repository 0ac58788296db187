"""The console's view of silences: mute one rule in one room for N minutes, in the alert
engine's store."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from alerts.silences import InMemorySilenceStore, Silence, SilenceStore, new_silence


class ConsoleSilence(BaseModel):
    """A rule muted for one room until `ends_ms`, with who asked and when."""

    id: str
    rule: str
    room_id: str
    created_by: str
    created_ms: int
    ends_ms: int
    comment: str = ""


@runtime_checkable  # install tells a ready ConsoleSilences from an engine SilenceStore
class ConsoleSilences(Protocol):
    async def add(self, *, rule: str, room_id: str, minutes: int, by: str, now_ms: int,
                  comment: str = "") -> ConsoleSilence: ...

    async def active(self, now_ms: int) -> list[ConsoleSilence]: ...


def _view(s: Silence) -> ConsoleSilence:
    m = {x.name: x.value for x in s.matchers if not x.regex}
    return ConsoleSilence(id=s.id, rule=m.get("rule", "*"), room_id=m.get("room_id", "*"),
                          created_by=s.created_by, created_ms=s.starts_at, ends_ms=s.ends_at,
                          comment=s.comment)


class AlertSilences:
    """Adapter over alerts.silences.SilenceStore (the one the notify pipeline consults), so a
    silence set here mutes the alert engine in every process that shares that store."""

    def __init__(self, store: SilenceStore | None = None) -> None:
        self.store = store if store is not None else InMemorySilenceStore()

    async def add(self, *, rule: str, room_id: str, minutes: int, by: str, now_ms: int,
                  comment: str = "") -> ConsoleSilence:
        silence = new_silence({"rule": rule, "room_id": room_id}, minutes * 60_000,
                              created_by=by, comment=comment, now_ms=now_ms)
        return _view(await self.store.add(silence))

    async def active(self, now_ms: int) -> list[ConsoleSilence]:
        return [_view(s) for s in await self.store.list(active_at=now_ms)]


def silence_dict(s: ConsoleSilence) -> dict:
    return s.model_dump(mode="json")
