"""The HTML report opens in headless Chromium from a file, with its charts drawn.

`ROOMPULSE_SCREENSHOT=docs/img/report.png pytest tests/streams/report/test_browser.py` also saves
a full-page screenshot (the one in the README).
"""

from __future__ import annotations

import asyncio
import os

import pytest

from alerts.targets import Targets
from streams.report.make import data_from_recording, render, report_from_data
from tests.streams.console import browser


@pytest.fixture
def driver():
    yield from browser.chromium()


def test_report_renders_in_chromium(recording, tmp_path, driver):
    data = asyncio.run(data_from_recording(recording[0], "room-1"))
    report = report_from_data(data, Targets.load())
    page = tmp_path / "report.html"
    page.write_bytes(render(report, "html"))
    driver.get(page.as_uri())
    assert driver.title.startswith("直播复盘报告")
    box = driver.execute_script(
        "const r = document.querySelector('#curve svg polyline').getBoundingClientRect();"
        "return [r.width, r.height];")
    assert box[0] > 500 and box[1] > 20
    bars = driver.execute_script("return document.querySelectorAll('#curve svg rect').length")
    assert bars == sum(1 for m in report["series"] if m["gmv"] > 0)
    labels = driver.execute_script(
        "return [...document.querySelectorAll('#funnel .lbl')].map(e => e.className)")
    assert len(labels) >= 4
    # nothing was fetched but the page itself
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched == []
    shot = os.environ.get("ROOMPULSE_SCREENSHOT")
    if shot:
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1100, height + 40)
        driver.save_screenshot(shot)
