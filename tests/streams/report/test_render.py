"""The report's formats: a self-contained HTML page (zh-CN default, en), Markdown, JSON, the CLI."""

from __future__ import annotations

import asyncio
import re

import orjson
import pytest

from alerts.targets import Targets, TargetsFile
from streams.cli import main
from streams.report import texts
from streams.report.format import money
from streams.report.make import data_from_recording, render, report_from_data

ROOM = "room-1"


@pytest.fixture(scope="module")
def data(recording):
    return asyncio.run(data_from_recording(recording[0], ROOM, alerts=False))


def test_html_is_self_contained_and_in_chinese_by_default(data):
    report = report_from_data(data, Targets.load())
    page = render(report, "html").decode()
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""(src|href)\s*=|url\(""", page)
    assert page.count("<svg") >= 2
    assert texts.t("title", "zh-CN") in page and money(report["gmv"]) in page
    assert "@media print" in page


def test_english_report(data):
    report = report_from_data(data, Targets.load(), lang="en")
    page = render(report, "html").decode()
    assert '<html lang="en">' in page and "Broadcast review" in page
    md = render(report, "md").decode()
    assert md.startswith("# Broadcast review · room-1")
    assert "| exposure → entry |" in md


def test_a_step_below_target_is_bad_and_gets_its_remedy(data):
    # The room's own targets: a CTR target far above what the broadcast reached.
    file = TargetsFile.model_validate(
        {"stages": {"conversion": {"ctr": {"min": 0.9}, "cart_rate": {"min": 0.01}}}})
    for lang in ("zh-CN", "en"):
        report = report_from_data(data, Targets(file), lang=lang)
        click = next(s for s in report["funnel"] if s["step"] == "click")
        assert click["target"] == 0.9 and click["label"] == "bad"
        assert report["weakest"]["step"] == "click"
        assert report["weakest"]["remedy"] == texts.remedy("click", lang)
        assert texts.remedy("click", lang) in render(report, "html").decode()
    entry = next(s for s in report["funnel"] if s["step"] == "entry")
    assert entry["target"] is None and entry["label"] is None


def test_gmv_target_from_the_targets_file_or_the_command_line(data):
    file = TargetsFile.model_validate(
        {"stages": {"conversion": {"gmv": {"min": 50000, "window": "broadcast"}}}})
    report = report_from_data(data, Targets(file))
    assert report["gmv_target"] == 50000
    assert report["gmv_attainment"] == pytest.approx(report["gmv"] / 50000)
    assert report_from_data(data, Targets(file), gmv_target=10.0)["gmv_target"] == 10.0


def test_cli_writes_each_format(recording, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["report", "--from-recording", str(recording[0]), "--room", ROOM,
                 "--format", "json", "--out", str(out), "--no-alerts"]) == 0
    body = orjson.loads(out.read_bytes())
    assert body["broadcast"]["room_id"] == ROOM and body["alerts"] == []
    assert main(["report", "--from-recording", str(recording[0]), "--room", ROOM,
                 "--format", "md", "--lang", "en", "--no-alerts"]) == 0
    assert capsys.readouterr().out.startswith("# Broadcast review")


def test_cli_errors_are_one_line(recording, tmp_path, capsys):
    args = ["report", "--from-recording", str(recording[0]), "--no-alerts"]
    assert main(args) == 1
    assert "needs --room" in capsys.readouterr().err
    assert main(args + ["--room", "no-such-room"]) == 1
    assert "no broadcast_start" in capsys.readouterr().err
    assert main(["report", "--from-recording", str(tmp_path / "missing.jsonl"),
                 "--room", ROOM]) == 1
    assert "cannot read" in capsys.readouterr().err
