"""The `pace` rule kind: a broadcast total projected to the end at its pace so far.

"At this pace 62% of the GMV target by the end": the total since the broadcast started,
scaled linearly from the time elapsed to the planned length, against the broadcast target.
Pure arithmetic; alerts.conditions reads the window and wraps the result in a Reading.
"""

from __future__ import annotations

from alerts.lifecycle import Cond
from alerts.model import Evidence
from alerts.targets import RoomTargets
from schemas.kpis import KpiValue

# Totals that grow through a broadcast, so that a linear projection means something.
PACE_KPIS = frozenset({"gmv", "orders", "entries", "exposures", "new_followers", "comments"})


def project(so_far: float, elapsed_ms: int, planned_ms: int) -> float:
    """The total at `planned_ms` if it keeps growing as it has for `elapsed_ms`; past the
    planned end the total is what it is."""
    if elapsed_ms <= 0:
        raise ValueError("project: no time has elapsed")
    return so_far * max(1.0, planned_ms / elapsed_ms)


def goal_of(kpi: str, goal: float | None, targets: RoomTargets) -> float | None:
    """The rule's own goal, else the room's `min` target on the `broadcast` window (stage)."""
    if goal is not None:
        return goal
    mins = [t.min for t in targets.for_kpi(kpi) if t.window == "broadcast" and t.min]
    return mins[0] if mins else None


def pace_reading(kpi: str, kv: KpiValue | None, goal: float, elapsed_ms: int,
                 planned_ms: int, below: float, recovery: float
                 ) -> tuple[Cond, Evidence] | None:
    """(condition, evidence) for a total `kv` read over the broadcast so far.

    Evidence: value = the projected total, numerator = the total so far, target = the goal,
    baseline = the share of the goal that breaches (`below`). The condition compares the
    projected share of the goal with `below`, hysteresis as for thresholds.
    """
    if kv is None or kv.value is None or elapsed_ms <= 0 or goal <= 0:
        return None
    projected = project(kv.value, elapsed_ms, planned_ms)
    share = projected / goal
    if share < below:
        cond = Cond.breach
    else:
        cond = Cond.clear if share >= below * (1 + recovery) else Cond.hold
    ev = Evidence(kpi=kpi, value=projected, numerator=kv.value, window="broadcast",
                  target=goal, baseline=below)
    return cond, ev
