"""The dry run's answer (alerts.roomreading.needs_of), remembered between ticks.

Which windows and KPIs a room's rules read changes only with the rules, the room's targets,
stage, phase, hour, pinned product, and where the time since the broadcast start lies relative
to the few durations the rules and targets compare it with (a scope's `first`/`after`, a change
rule's two windows, "has the broadcast started"). Between two of those breakpoints the requests
are the same, except that their ends move with `now`: they are kept relative to it.

The dry run ran every rule once more for every room on every tick (~8% of an alert tick at
1,000 rooms); with this it runs when a room crosses a breakpoint or its stage/pin changes.
tests/alerts/test_needscache.py checks the cached answer equals a fresh dry run over a grid of
moments for the default rule pack and targets.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from alerts.reader import ReadNeed, ReadRequest
from alerts.roomreading import needs_of
from alerts.rules import Rule
from alerts.scope import Moment
from alerts.targets import RoomTargets
from schemas.kpis import RoomState, parse_window

# (per, window, how far its end lies before now) -> what is read there
Relative = dict[tuple[str, str, int], ReadNeed]
_PINNED = "\x00pinned"  # stands for the room's pinned product: answers are shared by rooms


def breakpoints(rules: Sequence[Rule], targets: RoomTargets) -> list[int]:
    """Every time since start at which a rule or target may start or stop reading."""
    out = {1}  # pace rules read once the broadcast has started (since > 0)
    scopes = [r.scope for r in rules] + [t.target.scope for t in targets.targets]
    for s in scopes:
        out.update(x for x in (s.first, s.after) if x is not None)
    for r in rules:
        if r.kind == "change" and r.window:
            win = parse_window(r.window)[1] or 0
            if r.baseline in ("previous", "broadcast"):
                base = win
            else:
                base = parse_window(r.baseline.split(":", 1)[1])[1] or 0
            out.add(win + base)
    return sorted(out)


class NeedsCache:
    """Bounded: at most `max_entries` answers; full, it starts again (one slow tick). Rooms
    share answers: their targets are shared objects (alerts.targets.Targets.resolve) and the
    pinned product is a placeholder."""

    def __init__(self, max_entries: int = 4_096) -> None:
        self.max_entries = max_entries
        self.hits = self.misses = 0
        # (rule ids, targets id) -> (rules, targets (kept alive: ids stay theirs), breakpoints)
        self._breaks: dict[tuple[tuple[int, ...], int],
                           tuple[Sequence[Rule], RoomTargets, list[int]]] = {}
        self._answers: dict[tuple[object, ...], Relative] = {}

    async def needs(self, rules: Sequence[Rule], rule_ids: tuple[int, ...], state: RoomState,
                    targets: RoomTargets, moment: Moment) -> dict[ReadRequest, ReadNeed]:
        """`rule_ids`: `tuple(map(id, rules))`, built once per tick by the caller."""
        bkey = (rule_ids, id(targets))
        entry = self._breaks.get(bkey)
        if entry is None:
            if len(self._breaks) >= 64:  # rule packs and targets seen: a handful
                self._breaks.clear()
            entry = self._breaks[bkey] = (rules, targets, breakpoints(rules, targets))
        since = moment.since_start_ms
        phase_of_time = None if since is None else bisect.bisect_right(entry[2], since)
        pinned = state.pinned_product_id
        key = (bkey, moment.stage, moment.phase, moment.hour, phase_of_time,
               pinned is None, state.live, state.last_event_ms is None)
        now = moment.now_ms
        rel = self._answers.get(key)
        if rel is None:
            self.misses += 1
            fresh = await needs_of(list(rules), state, targets, moment)
            if len(self._answers) >= self.max_entries:
                self._answers.clear()
            self._answers[key] = {(per, w, now - end): _swap(need, pinned, _PINNED)
                                  for (per, w, end), need in fresh.items()}
            return fresh
        self.hits += 1
        return {(per, w, now - back): _swap(need, _PINNED, pinned)
                for (per, w, back), need in rel.items()}


def _swap(need: ReadNeed, old: str | None, new: str | None) -> ReadNeed:
    """The products wanted are at most the pinned one (alerts.roomreading._Recorder)."""
    if not need.products or old is None or new is None:
        return need
    return ReadNeed(need.kpis, frozenset(new if p == old else p for p in need.products))
