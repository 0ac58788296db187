"""Headless Chromium for the console's end-to-end tests, and DOM helpers that survive live
re-renders."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.streams.console.conftest import OPERATOR_TOKEN, SECRETS, VIEWER_TOKEN

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WAIT_S = 20


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (shutil.which(path) or Path(path).exists()):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401 - only asks whether it is installed
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def chromium():
    """A fresh headless Chromium (own profile); skips the test when it is not installed."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="roompulse-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1440,1000",
                 "--lang=zh-CN"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def login(driver, url: str, token: str, room: str = "room-1"):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url + "/")
    field = WebDriverWait(driver, WAIT_S).until(EC.visibility_of_element_located((By.ID, "token")))
    field.send_keys(token)
    driver.find_element(By.ID, "login-btn").click()
    WebDriverWait(driver, WAIT_S).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, f"#rooms article[data-room='{room}']")))


def text(driver, css: str) -> str:
    return driver.execute_script("return document.querySelector(arguments[0]).innerText", css)


def attr(driver, css: str, name: str) -> str:
    return driver.execute_script(
        "return document.querySelector(arguments[0]).getAttribute(arguments[1])", css, name)


def click(driver, css: str) -> None:
    """A real click; the feed and room cards re-render live, so find the element afresh."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for attempt in range(5):
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return
        except StaleElementReferenceException:
            if attempt == 4:
                raise


def card(fp: str) -> str:
    return f"#feed li.alert[data-fp='{fp}'][data-state='firing']"


def overview(driver) -> dict:
    """The overview as shown, read in one script (a live re-render cannot split the reading):
    the cards' room ids in order, their firing badges, and the pager's text."""
    return driver.execute_script("""
        const cards = [...document.querySelectorAll('#rooms article.room')];
        return {rooms: cards.map(c => c.dataset.room),
                badges: cards.map(c => (c.querySelector('.badge.alerts') || {}).innerText || ''),
                range: document.getElementById('room-range').innerText};""")


def wait_overview(driver, check) -> dict:
    """The overview once `check(overview)` holds (it re-renders after each fetch)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    seen: list[dict] = []

    def ready(d):
        seen.append(overview(d))
        return seen[-1] if check(seen[-1]) else False

    try:
        return WebDriverWait(driver, WAIT_S, poll_frequency=0.1).until(ready)
    except TimeoutException:
        raise AssertionError(f"overview never matched; last seen {seen[-1:]}") from None


def _save(driver, path: str) -> None:
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(path)


def scenario(driver, url: str, *, send, acks, first, second, screenshot: str | None = None,
             extra: list | None = None) -> None:
    """The end-to-end story. `send(alerts)` delivers through the real feed; `acks(episodes)`
    reads acknowledgements back from it. `first` is acknowledged by an operator, `second` is
    refused to a viewer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT_S)
    login(driver, url, OPERATOR_TOKEN)
    room = "#rooms article[data-room='room-1']"
    assert "转化期" in text(driver, room) and "直播期" in text(driver, room)
    below = room + " li.kpi[data-kpi='interaction_rate']"
    assert attr(driver, below, "data-status") == "below" and "▼ 低于目标" in text(driver, below)
    missing_keys = driver.execute_script("""
        const zh = window.I18N['zh-CN'], en = window.I18N.en, out = [];
        for (const [a, b] of [[zh, en], [en, zh], [zh.kpi, en.kpi], [en.kpi, zh.kpi]])
            out.push(...Object.keys(a).filter(k => !(k in b)));
        for (const n of document.querySelectorAll('[data-i18n]'))
            if (!(n.dataset.i18n in zh)) out.push(n.dataset.i18n);
        return out;""")
    assert missing_keys == [], missing_keys  # one table, both languages complete
    driver.execute_script("window.__noReload = 'still here';")
    wait.until(EC.text_to_be_present_in_element((By.ID, "conn"), "实时连接"))

    send([first])
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, card(first.fingerprint))))
    assert text(driver, card(first.fingerprint) + " .action") == first.action["zh-CN"]
    assert driver.execute_script("return window.__noReload") == "still here"
    click(driver, card(first.fingerprint) + " .ack-btn")
    wait.until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, card(first.fingerprint) + " .ack-info"), "alice"))
    assert acks([(first.fingerprint, first.starts_at)])[(first.fingerprint, first.starts_at)].by \
        == "alice"

    if screenshot:  # for the README: zh-CN (the default) and English
        send(extra or [])
        for a in extra or []:
            wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, card(a.fingerprint))))
        _save(driver, screenshot)

    # English: the same cues in the other language.
    click(driver, "#lang")
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, below), "▼ below target"))
    if screenshot:
        _save(driver, str(Path(screenshot).with_suffix("")) + ".en.png")
    click(driver, "#lang")

    # The alert resolves: its card turns resolved in place (one card per firing episode).
    from alerts.model import AlertState

    send([first.model_copy(update={"state": AlertState.resolved,
                                   "ends_at": first.starts_at + 60_000})])
    resolved = f"#feed li.alert[data-fp='{first.fingerprint}'][data-state='resolved']"
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, resolved)))
    assert driver.execute_script("return document.querySelectorAll(arguments[0]).length",
                                 f"#feed li.alert[data-fp='{first.fingerprint}']") == 1
    assert "alice" in text(driver, resolved + " .ack-info")

    # The room page: funnel with step rates, products (pinned first and marked), sources.
    click(driver, room + " h3 a")
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#roompage .funnel")))
    # One script reads the whole page, so a re-render by the 5 s poll cannot split the reading.
    page = driver.execute_script("""
        const q = (s) => [...document.querySelectorAll(s)];
        return {steps: q('#roompage .step').map(e => [e.dataset.step, e.innerText]),
                products: q('#roompage table.products tbody tr').map(
                    e => [e.dataset.product, e.className, e.innerText]),
                sources: q('#roompage table.sources tbody tr').map(e => e.dataset.source)};
    """)
    assert [s[0] for s in page["steps"]] == [
        "exposures", "entries", "product_clicks", "cart_adds", "orders"]
    assert "50.0%" in page["steps"][1][1]  # 40 entries from 80 exposures
    pid, cls, row = page["products"][0]
    assert pid == "p1" and "pinned" in cls and "讲解中" in row
    assert set(page["sources"]) == {"recommend", "search"}
    assert driver.execute_script("return window.__noReload") == "still here"
    click(driver, "#roompage a[href='#/']")

    # A viewer: sees the feed live, has no buttons, and the server refuses a direct POST.
    # Logged out through the page, so its 5 s poll stops first: with the cookies deleted
    # behind its back, a poll landing before the reload logged 401s (CI saw it once).
    click(driver, "#logout")
    wait.until(EC.visibility_of_element_located((By.ID, "token")))
    login(driver, url, VIEWER_TOKEN)
    wait.until(EC.text_to_be_present_in_element((By.ID, "conn"), "实时连接"))
    send([second])
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, card(second.fingerprint))))
    assert driver.execute_script("return document.querySelectorAll(arguments[0]).length",
                                 card(second.fingerprint) + " button") == 0
    status = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('api/me').then(r => r.json()).then(me => fetch(
            'api/alerts/' + arguments[0] + '/ack',
            {method: 'POST', headers: {'X-CSRF-Token': me.csrf}})).then(r => done(r.status));
    """, second.fingerprint)
    assert status == 403
    assert acks([(second.fingerprint, second.starts_at)]) == {}
    assert not any(secret in driver.page_source for secret in SECRETS)
    # No script error and no Content-Security-Policy violation along the way. Expected: the
    # 401 of /api/me before each log-in, and the 403 of the viewer's POST.
    expected = ("/api/me - Failed to load resource: the server responded with a status of 401",
                "/ack - Failed to load resource: the server responded with a status of 403")
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
              and not any(x in e["message"] for x in expected)]
    assert errors == [], errors


def low_interaction_rules():
    """One rule from the real rule schema that fires at once on the test room's KPIs."""
    from alerts.rules import RulePack

    return RulePack.model_validate({"rules": [{
        "id": "low-interaction", "kind": "target", "kpi": "interaction_rate", "bound": "min",
        "for": "0s", "severity": "critical", "audience": ["control_room"],
        "action": {"zh-CN": "追加精准人群包投放", "en": "Add a targeted audience package to ads"},
    }]})
