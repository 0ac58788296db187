"""The evaluator: alert fields and texts, persistence across restarts, metrics."""

from prometheus_client import CollectorRegistry

from alerts.evaluator import Evaluator
from alerts.model import fingerprint
from alerts.rules import RulePack
from alerts.state import InMemorySeriesStore
from alerts.targets import Targets
from tests.alerts.helpers import T0, pack, reader, run, targets

SURGE = {"stage": "conversion", "phase": "live", "pinned": "p1", "products": {
    "p1": {"name": "玻尿酸保湿精华液",
           "kpis": {"cart_rate": {"values": "0.25x29 0.45x20", "denominator": "60x50"}}}}}


async def test_alert_carries_evidence_and_bilingual_texts():
    r = reader({"room-1": SURGE})
    ev = Evaluator(RulePack.load(), Targets.load(), max_gap_ms=180_000)
    _, last = await run(ev, r, 33 * 60, every_s=60)
    (alert,) = [a for a in last.alerts if a.rule == "cart-rate-surge"]
    assert alert.fingerprint == fingerprint("cart-rate-surge", "room-1", {"product_id": "p1"})
    assert alert.product_name == "玻尿酸保湿精华液" and alert.state == "firing"
    assert alert.starts_at == T0 + 31 * 60_000 and alert.ends_at is None
    assert alert.minutes_since_start == 33.0 and alert.evidence.window == "10m"  # as of now
    assert alert.evidence.value == 0.45 and alert.evidence.baseline == 0.25
    assert alert.evidence.denominator == 60 and alert.evidence.numerator == 27
    assert set(alert.audience) == {"host", "ops", "control_room"}
    zh, action_zh = alert.text("zh-CN")
    en, action_en = alert.text("en")
    assert "玻尿酸保湿精华液" in zh and "加购率" in zh and "45.0%" in zh and "+80%" in zh
    assert "开播第33分钟" in zh
    assert action_zh == "延长「玻尿酸保湿精华液」讲解时长，通知运营补货"
    assert "add-to-cart rate" in en and "minute 33" in en
    assert action_en == "Extend the explanation of 玻尿酸保湿精华液; ops: add stock"


async def test_restart_keeps_the_firing_alert_and_its_start():
    store = InMemorySeriesStore()
    r = reader({"room-1": SURGE})
    first = Evaluator(RulePack.load(), Targets.load(), store, max_gap_ms=180_000)
    trans, last = await run(first, r, 33 * 60, every_s=60)
    assert [t.state for t in trans if t.rule == "cart-rate-surge"] == ["pending", "firing"]
    before = [a for a in last.alerts if a.rule == "cart-rate-surge"]
    second = Evaluator(RulePack.load(), Targets.load(), store, max_gap_ms=180_000)  # a new worker
    trans, last = await run(second, r, 36 * 60, every_s=60, start_s=34 * 60)
    assert [t for t in trans if t.rule == "cart-rate-surge"] == []  # no new transition
    after = [a for a in last.alerts if a.rule == "cart-rate-surge"]
    assert [a.starts_at for a in after] == [a.starts_at for a in before]


async def test_resolution_after_restart_is_worded_from_stored_evidence():
    store = InMemorySeriesStore()
    r = reader({"room-1": {"stage": "conversion", "phase": "live",
                           "silent": [{"from": "1m", "until": "5m"}]}})
    rules = pack({"id": "s", "kind": "no_data", "after": "60s"})
    await run(Evaluator(rules, targets(), store), r, 150)
    r.now_ms = T0 + 6 * 60_000
    res = await Evaluator(rules, targets(), store).evaluate(r)
    (a,) = res.alerts
    assert a.state == "resolved" and a.ends_at == T0 + 6 * 60_000 and a.starts_at == T0 + 120_000
    assert a.summary["zh-CN"].startswith("【已恢复】") and a.summary["en"].startswith("[resolved]")
    assert store.data == {}


async def test_metrics_on_an_injected_registry():
    reg = CollectorRegistry()
    r = reader({"room-1": {"stage": "conversion", "phase": "live",
                           "silent": [{"from": "0m", "until": "5m"}]}})
    ev = Evaluator(pack({"id": "s", "kind": "no_data", "after": "60s", "for": "5m"}), targets(),
                   registry=reg)
    await run(ev, r, 90)
    assert reg.get_sample_value("roompulse_alert_evaluation_seconds_count") == 10
    assert reg.get_sample_value("roompulse_alert_series", {"state": "pending"}) == 1


async def test_a_rule_removed_by_a_reload_resolves_its_series():
    r = reader({"room-1": {"stage": "conversion", "phase": "live",
                           "silent": [{"from": "0m", "until": "5m"}]}})
    current = {"pack": pack({"id": "s", "kind": "no_data", "after": "60s"})}
    ev = Evaluator(lambda: current["pack"], targets())
    await run(ev, r, 70)
    current["pack"] = pack({"id": "other", "kind": "no_data", "after": "10m"})
    trans, last = await run(ev, r, 80, start_s=80)
    assert [(t.rule, t.state.value) for t in trans] == [("s", "resolved")]
    assert [(a.rule, a.state) for a in last.alerts] == [("s", "resolved")]  # still worded


async def test_a_failing_rule_leaves_the_room_and_its_firing_alert_alone():
    r = reader({"room-1": {"stage": "conversion", "phase": "live",
                           "silent": [{"from": "0m", "until": "10m"}]}})
    reg = CollectorRegistry()
    ev = Evaluator(pack({"id": "s", "kind": "no_data", "after": "60s"}), targets(),
                   registry=reg)
    _, last = await run(ev, r, 120)
    assert [(a.rule, a.state) for a in last.alerts] == [("s", "firing")]

    class Failing:  # KPI reads fail: the rule that needs them is counted, nothing resolves
        def __getattr__(self, name):
            return getattr(r, name)

        def room_kpis(self, *a, **kw):
            raise ConnectionError("Redis went away")

    ev.batch = None
    before = dict(ev.series)
    # a rule that reads KPIs fails on the room; the no_data series is left as it was
    ev._rules = lambda: pack({"id": "s", "kind": "no_data", "after": "60s"},
                             {"id": "t", "kind": "threshold", "kpi": "ctr", "window": "5m",
                              "below": 0.5})
    r.now_ms += 10_000
    res = await ev.evaluate(Failing())
    assert [(a.rule, a.state) for a in res.alerts] == [("s", "firing")]
    assert res.transitions == [] and set(ev.series) == set(before)
    assert reg.get_sample_value("roompulse_alert_evaluation_errors_total", {"kind": "rule"}) == 1


async def test_budget_zero_still_reads_one_batch_and_keeps_the_rest():
    rooms = {f"room-{i}": {"stage": "conversion", "phase": "live",
                           "silent": [{"from": "0m", "until": "10m"}]} for i in range(5)}
    r = reader(rooms)
    ev = Evaluator(pack({"id": "s", "kind": "no_data", "after": "60s"}), targets())
    _, last = await run(ev, r, 120)
    assert len([a for a in last.alerts if a.state == "firing"]) == 5
    ev.budget_s, ev.concurrency = 0.0, 1
    r.now_ms += 10_000
    res = await ev.evaluate(r)
    assert (ev.last_tick.evaluated, ev.last_tick.skipped) == (1, 4)
    assert len([a for a in res.alerts if a.state == "firing"]) == 5  # the 4 skipped too
    assert res.transitions == []
