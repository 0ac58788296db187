"""A batch reader's dry run asks for a `history` rule's KPI, or the batch would not read it (and
the rule, seeing no value, would never fire on a batched store such as the worker's)."""

from alerts.reader import ReadNeed
from alerts.roomreading import needs_of
from schemas.kpis import RoomState
from tests.alerts.helpers import T0, pack, targets

RULE = {"id": "vs-history", "kind": "history", "kpi": "entries", "window": "5m",
        "direction": "decrease", "by": 0.3}


async def test_the_dry_run_notes_the_history_rule_kpi():
    state = RoomState(room_id="room-1", broadcast_start_ms=T0)
    now = T0 + 12 * 60_000
    t = targets()
    rt = t.resolve("room-1", None, None, None, now)
    moment = t.moment(rt.stage, rt.phase, now, T0)
    needs = await needs_of(list(pack(RULE).rules), state, rt, moment)
    assert needs == {("room", "5m", now): ReadNeed(frozenset({"entries"}), None)}
