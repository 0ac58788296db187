"""The alert lifecycle as one pure function: inactive -> pending -> firing -> resolved."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class State(StrEnum):
    inactive = "inactive"
    pending = "pending"
    firing = "firing"
    resolved = "resolved"


class Cond(StrEnum):
    """What one evaluation says about a series."""

    breach = "breach"  # the condition holds
    hold = "hold"  # between the threshold and the recovery threshold (hysteresis band)
    clear = "clear"  # recovered, or no usable reading


class Series(BaseModel):
    """Persisted state of one alert series (rule x room x fan-out labels)."""

    model_config = ConfigDict(frozen=True)

    fingerprint: str
    rule: str
    room_id: str
    labels: dict[str, str] = {}
    state: State = State.inactive
    active_at: int | None = None  # when the condition started to hold (pending since)
    fired_at: int | None = None
    resolved_at: int | None = None
    keep_since: int | None = None  # condition cleared while firing, kept by keep_firing_for
    last_eval_at: int | None = None
    # last evidence and names, to word a resolved message after a restart
    context: dict[str, Any] = {}


def step(
    prev: Series,
    cond: Cond,
    now: int,
    *,
    for_ms: int,
    keep_firing_for_ms: int = 0,
    max_gap_ms: int = 30_000,
) -> tuple[Series, State | None]:
    """Advance one series by one evaluation. Returns (new series, transition or None).

    A transition is the state entered: pending, firing, resolved, or inactive (a pending
    series whose condition stopped holding). Time spent in an evaluation gap longer than
    `max_gap_ms` (the worker was down) does not count towards `for`.
    """
    s = prev
    if (s.state == State.pending and s.last_eval_at is not None
            and now - s.last_eval_at > max_gap_ms):
        base = s.active_at if s.active_at is not None else now
        s = s.model_copy(update={"active_at": base + (now - s.last_eval_at)})
    upd: dict[str, Any] = {"last_eval_at": now}
    transition: State | None = None
    state = s.state
    if state in (State.inactive, State.resolved):
        if cond == Cond.breach:
            upd.update(state=State.pending, active_at=now, fired_at=None, resolved_at=None,
                       keep_since=None)
            state, transition = State.pending, State.pending
        else:
            return s.model_copy(update=upd), None
    elif state == State.pending and cond != Cond.breach:
        upd.update(state=State.inactive, active_at=None)
        return s.model_copy(update=upd), State.inactive
    if state == State.pending:
        active_at = upd.get("active_at", s.active_at)
        if active_at is None:  # a pending series always has one; a damaged stored one restarts
            active_at = upd["active_at"] = now
        if now - active_at >= for_ms:
            upd.update(state=State.firing, fired_at=now, keep_since=None)
            transition = State.firing
        return s.model_copy(update=upd), transition
    # firing
    if cond in (Cond.breach, Cond.hold):
        upd["keep_since"] = None
        return s.model_copy(update=upd), None
    keep_since = s.keep_since if s.keep_since is not None else now
    if now - keep_since >= keep_firing_for_ms:
        upd.update(state=State.resolved, resolved_at=now, keep_since=None, active_at=None)
        return s.model_copy(update=upd), State.resolved
    upd["keep_since"] = keep_since
    return s.model_copy(update=upd), None
