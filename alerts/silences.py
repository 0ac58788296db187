"""Silences: matchers with an expiry that mute alerts; the store protocol and the in-memory
store."""

from __future__ import annotations

import re
import uuid
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerts import clock
from alerts.errors import AlertsError
from alerts.model import Alert, field_value


class Matcher(BaseModel):
    """`name` is an alert field (room_id, rule, severity, product_id, source, audience) or
    labels.X."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    value: str
    regex: bool = False

    @model_validator(mode="after")
    def _compiles(self) -> Matcher:
        if self.regex:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"bad regex {self.value!r}: {exc}") from None
        return self

    def matches(self, alert: Alert) -> bool:
        if self.name == "audience":
            values = [str(a) for a in alert.audience]
        else:
            values = [field_value(alert, self.name)]
        if self.regex:
            return any(re.fullmatch(self.value, v) for v in values)
        return self.value in values


class Silence(BaseModel):
    """Mutes every alert all matchers match, from starts_at to ends_at (wall-clock epoch ms)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    matchers: tuple[Matcher, ...] = Field(min_length=1)
    starts_at: int = Field(default_factory=clock.now_ms)
    ends_at: int
    created_by: str = "api"
    comment: str = ""

    @model_validator(mode="after")
    def _order(self) -> Silence:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def active(self, now_ms: int) -> bool:
        return self.starts_at <= now_ms < self.ends_at

    def matches(self, alert: Alert) -> bool:
        return all(m.matches(alert) for m in self.matchers)


def new_silence(matchers: dict[str, str] | list[dict[str, Any]], duration_ms: int, *,
                created_by: str = "api", comment: str = "", now_ms: int | None = None) -> Silence:
    """Convenience for the HTTP API: `{"room_id": "room-1"}` + a duration."""
    now = clock.now_ms() if now_ms is None else now_ms
    ms = ([{"name": k, "value": v} for k, v in matchers.items()] if isinstance(matchers, dict)
          else matchers)
    return Silence(matchers=ms, starts_at=now, ends_at=now + duration_ms, created_by=created_by,
                   comment=comment)


def ended(s: Silence, now_ms: int) -> Silence:
    """The silence cut off at `now_ms` (a future one never starts)."""
    return s.model_copy(update={"ends_at": now_ms, "starts_at": min(s.starts_at, now_ms - 1)})


class SilenceStore(Protocol):
    async def add(self, silence: Silence) -> Silence: ...

    async def list(self, *, active_at: int | None = None) -> list[Silence]: ...

    async def expire(self, silence_id: str, now_ms: int | None = None) -> bool: ...


class InMemorySilenceStore:
    def __init__(self) -> None:
        self._data: dict[str, Silence] = {}

    async def add(self, silence: Silence) -> Silence:
        self._data[silence.id] = silence
        return silence

    async def list(self, *, active_at: int | None = None) -> list[Silence]:
        items = sorted(self._data.values(), key=lambda s: s.starts_at)
        return [s for s in items if active_at is None or s.active(active_at)]

    async def expire(self, silence_id: str, now_ms: int | None = None) -> bool:
        s = self._data.get(silence_id)
        now = clock.now_ms() if now_ms is None else now_ms
        if s is None or s.ends_at <= now:
            return False
        self._data[silence_id] = ended(s, now)
        return True


class SilenceRequestError(AlertsError, ValueError):
    """A silence request the API should answer with 400; the message says what is wrong."""


async def create_silence(store: SilenceStore, body: dict[str, Any], *,
                         now_ms: int | None = None) -> dict[str, Any]:
    """HTTP-shaped helper: `{"matchers": {...} | [...], "duration": "2h" | "ends_at": ms,
    "created_by": "...", "comment": "..."}` -> the stored silence as JSON-able dict."""
    from pydantic import ValidationError

    from alerts.scope import parse_duration_ms

    if not isinstance(body, dict) or "matchers" not in body:
        raise SilenceRequestError("body must be an object with `matchers`")
    now = clock.now_ms() if now_ms is None else now_ms
    try:
        if "ends_at" in body:
            duration = int(body["ends_at"]) - int(body.get("starts_at", now))
        else:
            duration = parse_duration_ms(body.get("duration", "1h"))
        s = new_silence(body["matchers"], duration, created_by=str(body.get("created_by", "api")),
                        comment=str(body.get("comment", "")),
                        now_ms=int(body.get("starts_at", now)))
    except (ValidationError, ValueError, TypeError) as exc:
        raise SilenceRequestError(str(exc)) from None
    return (await store.add(s)).model_dump()


async def list_silences(store: SilenceStore, *,
                        active_only: bool = False) -> list[dict[str, Any]]:
    active_at = clock.now_ms() if active_only else None
    return [s.model_dump() for s in await store.list(active_at=active_at)]


async def expire_silence(store: SilenceStore, silence_id: str) -> bool:
    """False when there is no such silence or it has already ended (answer 404)."""
    return await store.expire(silence_id)
