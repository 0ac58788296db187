"""Seven simulated broadcasts in history give a weekly review; trend math on its own."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest

from alerts.targets import Targets
from streams.cli import main
from streams.history.lookup import save_data
from streams.history.settings import HistorySettings
from streams.history.store import HistoryStore
from streams.report import texts
from streams.report.make import data_from_recording, report_from_data
from streams.report.weekly import trend, week_of
from streams.simulator import ScenarioSpec, record
from tests.streams.report.conftest import sim_config

MONDAY = datetime(2026, 1, 5, 12, tzinfo=UTC)  # 20:00 in Shanghai
TARGETS = "stages:\n  conversion:\n    ctr: {min: 0.5}\n    cart_rate: {min: 0.01}\n"


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """Seven daily broadcasts of room-1 (two with low early interaction), one of room-2, and
    room-1's next Monday, all saved to a SQLite history."""
    tmp = tmp_path_factory.mktemp("week")
    store = HistoryStore.open(HistorySettings(dir=tmp))
    plan = [(MONDAY + timedelta(days=d), "room-1", d) for d in range(8)]
    plan.append((MONDAY + timedelta(days=2, hours=2), "room-2", 20))
    saved = []
    for when, room, seed in plan:
        scenarios = (ScenarioSpec("low-early-interaction", "room-1"),) if seed in (1, 4) else ()
        path = tmp / f"{room}-{seed}.jsonl"
        record(sim_config(rooms=2, duration_min=45, exposures_per_min=80, seed=seed,
                          scenarios=scenarios, start_ms=int(when.timestamp() * 1000)), path)
        data = asyncio.run(data_from_recording(path, room))
        save_data(store, data)
        saved.append((when, room, data))
    store.close()
    (tmp / "targets.yaml").write_text(TARGETS)
    return tmp, saved


def test_weekly_review_of_seven_broadcasts(week, monkeypatch, capsys):
    tmp, saved = week
    monkeypatch.setenv("ROOMPULSE_HISTORY_DIR", str(tmp))
    assert main(["report", "--week", "2026-01-08", "--room", "room-1", "--format", "json",
                 "--targets", str(tmp / "targets.yaml")]) == 0
    w = orjson.loads(capsys.readouterr().out)
    assert w["week"] == {"from": "2026-01-05", "to": "2026-01-11"}
    mine = [d for when, room, d in saved if room == "room-1" and when < MONDAY + timedelta(7)]
    assert [b["id"] for b in w["broadcasts"]] == [d["summary"]["broadcast_id"] for d in mine]
    targets = Targets.load(tmp / "targets.yaml")
    reports = [report_from_data(d, targets) for d in mine]
    assert w["totals"]["gmv"] == pytest.approx(sum(r["gmv"] for r in reports))
    assert w["totals"]["orders"] == sum(r["orders"] for r in reports)
    assert [b["uv"] for b in w["broadcasts"]] == [r["uv"] for r in reports]
    fired = Counter(a["rule"] for r in reports for a in r["alerts"] if a["state"] == "fired")
    assert fired  # the low-interaction days fired
    assert {a["rule"]: a["fired"] for a in w["alerts_most"]} == dict(fired)
    assert w["most_bad_step"]["step"] == "click"  # the CTR target of 50% is never met
    assert w["most_bad_step"]["bad"] == 7
    assert w["most_bad_step"]["remedy"] == texts.remedy("click", "zh-CN")
    assert set(w["trends"]) >= {"gmv", "uv", "cost_per_viewer"}


def test_weekly_html_and_markdown(week, monkeypatch, capsys, tmp_path):
    tmp, _ = week
    monkeypatch.setenv("ROOMPULSE_HISTORY_DIR", str(tmp))
    out = tmp_path / "w.html"
    assert main(["report", "--week", "2026-01-05", "--brand", "brand-1", "--out", str(out),
                 "--lang", "en"]) == 0
    page = out.read_text()
    assert "Weekly review · 2026-01-05 – 2026-01-11" in page and "<script" not in page
    assert page.count("room-1@") == 7  # brand-1 is room-1's brand; room-2 has brand-2
    assert main(["report", "--week", "2026-01-05", "--room", "room-1", "--format", "md"]) == 0
    assert capsys.readouterr().out.startswith("# 周度复盘")


def test_weekly_errors(week, monkeypatch, capsys):
    tmp, _ = week
    monkeypatch.setenv("ROOMPULSE_HISTORY_DIR", str(tmp))
    assert main(["report", "--week", "2026-01-05"]) == 1
    assert "--room or --brand" in capsys.readouterr().err
    assert main(["report", "--week", "2025-06-02", "--room", "room-1"]) == 1
    assert "no broadcast of room 'room-1' in the week" in capsys.readouterr().err
    assert main(["report", "--week", "soon", "--room", "room-1"]) == 1
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_trend_and_week_math():
    assert trend([1.0, 2.0, 3.0]) == {"direction": "rising", "change": pytest.approx(1.0)}
    assert trend([3.0, 2.0, 1.0])["direction"] == "falling"
    assert trend([2.0, 2.02, 2.0, 2.01])["direction"] == "flat"
    assert trend([None, 5.0]) == {"direction": None, "change": None}
    assert week_of(date(2026, 1, 8)) == (date(2026, 1, 5), date(2026, 1, 11))
    assert week_of(date(2026, 1, 11)) == (date(2026, 1, 5), date(2026, 1, 11))


def test_a_history_report_compares_with_the_previous_broadcast_and_the_median(
        week, monkeypatch, capsys):
    from statistics import median

    from streams.report.funnel import label

    tmp, saved = week
    monkeypatch.setenv("ROOMPULSE_HISTORY_DIR", str(tmp))
    room1 = [d for _, room, d in saved if room == "room-1"]
    last = room1[-1]["summary"]["broadcast_id"]  # the next Monday; seven before it
    assert main(["report", "--broadcast", last, "--format", "json"]) == 0
    r = orjson.loads(capsys.readouterr().out)
    targets = Targets.load()
    earlier = [report_from_data(d, targets) for d in room1[:-1]][::-1]  # newest first
    c = r["compare"]
    assert c["previous_id"] == earlier[0]["broadcast"]["id"] and c["history_n"] == 7
    assert c["gmv"]["previous"] == earlier[0]["gmv"]
    assert c["gmv"]["vs_previous"] == pytest.approx(r["gmv"] / earlier[0]["gmv"] - 1)
    assert c["uv"]["median"] == median(e["uv"] for e in earlier)
    for step in r["funnel"]:
        rates = [s["rate"] for e in earlier for s in e["funnel"] if s["step"] == step["step"]]
        assert step["history_median"] == pytest.approx(median(rates))
        assert step["history_label"] == label(step["rate"], median(rates))
    d = c["gmv_decomposition"]
    f = d["factors"]
    assert f["exposures"] * f["uv_per_exposure"] * f["uv_value"] == pytest.approx(r["gmv"])
    assert sum(d["log_change"].values()) == pytest.approx(math.log(r["gmv"] / earlier[0]["gmv"]))
    assert d["moved_most"] == max(d["log_change"], key=lambda k: abs(d["log_change"][k]))
    assert main(["report", "--broadcast", last]) == 0
    assert 'id="decomposition"' in capsys.readouterr().out
    assert main(["report", "--broadcast", last, "--format", "md", "--lang", "en"]) == 0
    assert "vs previous" in capsys.readouterr().out
    # the first broadcast has no history to compare with
    assert main(["report", "--broadcast", room1[0]["summary"]["broadcast_id"],
                 "--format", "json"]) == 0
    first = orjson.loads(capsys.readouterr().out)
    assert first["compare"]["history_n"] == 0 and first["compare"]["gmv"]["previous"] is None
