"""Every lifecycle transition of the pure step function."""

from alerts.lifecycle import Cond, Series, State, step

S0 = Series(fingerprint="f", rule="r", room_id="room-1")


def run(conds, *, for_ms=60_000, keep=0, every=10_000, start=S0):
    s, out = start, []
    for i, c in enumerate(conds):
        s, t = step(s, c, i * every, for_ms=for_ms, keep_firing_for_ms=keep)
        out.append(t)
    return s, out


def test_inactive_to_pending_to_firing_after_for():
    s, out = run([Cond.breach] * 8)
    assert out[0] == State.pending
    assert out[6] == State.firing and out[5] is None  # 60 s after the first breach
    assert s.state == State.firing and s.fired_at == 60_000 and s.active_at == 0


def test_for_zero_fires_on_the_first_breach():
    s, out = run([Cond.breach], for_ms=0)
    assert out == [State.firing] and s.fired_at == 0


def test_pending_to_inactive_when_the_condition_stops():
    s, out = run([Cond.breach, Cond.breach, Cond.hold])
    assert out == [State.pending, None, State.inactive]
    assert s.state == State.inactive and s.active_at is None


def test_firing_holds_in_the_hysteresis_band_and_resolves_on_clear():
    s, out = run([Cond.breach] * 7 + [Cond.hold] * 3 + [Cond.clear])
    assert out[6] == State.firing
    assert out[7:10] == [None, None, None]
    assert out[10] == State.resolved and s.resolved_at == 100_000 and s.fired_at == 60_000


def test_keep_firing_for_delays_resolution_and_a_new_breach_resets_it():
    conds = [Cond.breach] * 7 + [Cond.clear] * 2 + [Cond.breach] + [Cond.clear] * 4
    _, out = run(conds, keep=30_000)
    assert out[7:10] == [None, None, None]  # cleared 20 s, then breached again
    assert out[10:13] == [None, None, None]
    assert out[13] == State.resolved  # 30 s after the clear at index 10


def test_resolved_series_can_start_a_new_episode():
    s, out = run([Cond.breach] * 7 + [Cond.clear] + [Cond.breach])
    assert out[-2:] == [State.resolved, State.pending]
    assert s.fired_at is None and s.resolved_at is None and s.active_at == 80_000


def test_downtime_does_not_count_towards_for():
    s, _ = run([Cond.breach] * 3)  # pending since 0, last evaluated at 20 s
    s, t = step(s, Cond.breach, 600_000, for_ms=60_000, max_gap_ms=30_000)
    assert t is None and s.state == State.pending  # 20 s of pending time, not 600 s
    s, t = step(s, Cond.breach, 625_000, for_ms=60_000, max_gap_ms=30_000)
    assert t is None  # 45 s
    s, t = step(s, Cond.breach, 645_000, for_ms=60_000, max_gap_ms=30_000)
    assert t == State.firing


def test_a_firing_alert_survives_a_gap():
    s, _ = run([Cond.breach] * 7)
    s, t = step(s, Cond.breach, 900_000, for_ms=60_000)
    assert t is None and s.state == State.firing and s.fired_at == 60_000


def test_a_pending_series_without_a_start_starts_counting_now():
    # A stored series damaged to pending without active_at: `for` counts from this evaluation.
    damaged = S0.model_copy(update={"state": State.pending, "active_at": None})
    s, t = step(damaged, Cond.breach, 100_000, for_ms=60_000)
    assert t is None and s.state == State.pending and s.active_at == 100_000
    for now in range(110_000, 170_000, 10_000):
        s, t = step(s, Cond.breach, now, for_ms=60_000)
    assert t == State.firing and s.fired_at == 160_000
