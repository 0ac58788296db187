"""What the alert-read process tests compare: an evaluator over the seeded rooms, and what one
evaluation produced (transitions and alerts)."""

from __future__ import annotations

from alerts.evaluator import Evaluator
from streams.kpi.roomread import RoomWindowReader

START = 1_767_240_000_000
MIN = 60_000
ROOMS = 30  # seeded by conftest.py


def evaluator(store, rules, targets, **kw) -> Evaluator:
    return Evaluator(rules, targets, batch=RoomWindowReader(store), **kw)


def outcome(result):
    return ([(t.rule, t.room_id, t.fingerprint, t.state, t.value) for t in result.transitions],
            [a.model_dump() for a in result.alerts])
