"""The read half of an evaluation as data, so that it can run elsewhere (a child process).

`Evaluator.read_rooms` produces a RoomReads; `Evaluator.evaluate` consumes one, from its own
read or from a RemoteReads (streams.alerting.evalproc), and steps the lifecycles. Everything
here pickles: rules travel by id, readings as plain dataclasses and pydantic models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from alerts.evalmetrics import TickStats

if TYPE_CHECKING:
    from alerts.conditions import Reading
    from alerts.rules import RulePack
    from alerts.targets import Targets

# fingerprint -> (rule id, room, reading, minutes since the broadcast started). The Series of
# a new fingerprint is built when it steps: most readings continue one, and building a model per
# reading was ~3% of a tick.
Readings = dict[str, tuple[str, str, "Reading", float | None]]


@dataclass
class RoomReads:
    """What one evaluation read: the readings, the rooms it did not read (budget, failure:
    their series are left as they are) and the (rule, room) pairs whose rule failed."""

    readings: Readings = field(default_factory=dict)
    untouched: set[str] = field(default_factory=set)
    failed_rules: set[tuple[str, str]] = field(default_factory=set)
    stats: TickStats = field(default_factory=TickStats)


class RemoteReads(Protocol):
    """Reads the rooms somewhere else with these rules and targets, within `budget_s`."""

    async def read(self, rules: RulePack, targets: Targets, now_ms: int,
                   budget_s: float | None) -> RoomReads: ...
