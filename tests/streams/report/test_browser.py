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
        _save_full_page(driver, shot)


def _save_full_page(driver, path: str, width: int = 1100) -> None:
    """The whole page, uncut: the height is measured at the final width (narrower wraps taller)
    and the window is grown by its own chrome (the viewport is shorter than the window)."""
    driver.set_window_size(width, 1000)
    for _ in range(5):  # a resize can reflow the page again; settle within a few rounds
        page, inner, outer = driver.execute_script(
            "return [document.documentElement.scrollHeight, window.innerHeight,"
            " window.outerHeight]")
        if inner >= page:
            break
        driver.set_window_size(width, page + (outer - inner))
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(path)
