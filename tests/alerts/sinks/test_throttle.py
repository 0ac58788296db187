"""Nudge policy: one nudge per host per interval; higher severity replaces a queued lower one."""

from __future__ import annotations

from alerts.model import AlertState, Severity
from alerts.sinks.throttle import DEFAULT_INTERVAL_MS, NudgeThrottle, Outcome
from tests.alerts.sinks.conftest import make_alert

T0 = 1_700_000_000_000
MIN = 60_000


def test_default_interval_is_two_minutes():
    assert DEFAULT_INTERVAL_MS == 2 * MIN


def test_one_nudge_per_host_per_interval():
    th = NudgeThrottle()
    first, second = make_alert(rule="a"), make_alert(rule="b")
    assert th.offer(first, T0).send == first
    assert th.offer(second, T0 + MIN).outcome == Outcome.queued
    assert th.due(T0 + 2 * MIN - 1) == []
    assert th.next_due_ms() == T0 + 2 * MIN
    assert th.due(T0 + 2 * MIN) == [second]
    # The queued one used the next slot: a third must wait for T0 + 4 min.
    assert th.offer(make_alert(rule="c"), T0 + 3 * MIN).outcome == Outcome.queued
    assert th.due(T0 + 4 * MIN - 1) == [] and len(th.due(T0 + 4 * MIN)) == 1


def test_hosts_are_independent():
    th = NudgeThrottle()
    assert th.offer(make_alert(room="r1"), T0).outcome == Outcome.send
    assert th.offer(make_alert(room="r2"), T0).outcome == Outcome.send


def test_higher_severity_replaces_queued_lower_and_lower_is_dropped():
    th = NudgeThrottle()
    th.offer(make_alert(rule="first"), T0)
    warn = make_alert(rule="w", severity=Severity.warning)
    crit = make_alert(rule="c", severity=Severity.critical)
    info = make_alert(rule="i", severity=Severity.info)
    th.offer(warn, T0 + 1)
    d = th.offer(crit, T0 + 2)
    assert d.outcome == Outcome.replaced and d.displaced == warn
    d = th.offer(info, T0 + 3)
    assert d.outcome == Outcome.dropped and d.displaced == info
    other_crit = make_alert(rule="c2", severity=Severity.critical)
    assert th.offer(other_crit, T0 + 4).outcome == Outcome.dropped
    assert th.due(T0 + 2 * MIN) == [crit]


def test_same_series_update_refreshes_queued_text():
    th = NudgeThrottle()
    th.offer(make_alert(rule="first"), T0)
    old = make_alert(rule="w", summary_zh="旧")
    new = make_alert(rule="w", summary_zh="新")
    th.offer(old, T0 + 1)
    assert th.offer(new, T0 + 2).outcome == Outcome.replaced
    assert th.queued("room-1") == new


def test_resolve_cancels_the_queued_nudge_and_is_not_itself_nudged():
    th = NudgeThrottle()
    th.offer(make_alert(rule="first"), T0)
    th.offer(make_alert(rule="w"), T0 + 1)
    d = th.offer(make_alert(rule="w", state=AlertState.resolved), T0 + 2)
    assert d.outcome == Outcome.cancelled and len(th) == 0
    other_resolved = make_alert(rule="x", state=AlertState.resolved)
    assert th.offer(other_resolved, T0 + 3).outcome == Outcome.ignored
    assert th.next_due_ms() is None


def test_configurable_interval_and_host_key_and_bounded_memory():
    th = NudgeThrottle(interval_ms=10_000, host_of=lambda a: a.labels.get("host", a.room_id))
    a = make_alert(room="r1", labels={"host": "anna"})
    b = make_alert(room="r2", labels={"host": "anna"})
    assert th.offer(a, T0).outcome == Outcome.send
    assert th.offer(b, T0 + 5_000).outcome == Outcome.queued
    assert th.due(T0 + 10_000) == [b]
    th.due(T0 + 20_000)
    assert th._last_sent == {}


def test_release_frees_the_slot_of_a_failed_send():
    th = NudgeThrottle()
    a = make_alert(rule="a")
    assert th.offer(a, T0).outcome == Outcome.send
    th.release(a)
    assert th.offer(a, T0 + 1).outcome == Outcome.send
