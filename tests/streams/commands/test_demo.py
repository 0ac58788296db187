"""`roompulse demo` end to end: both scenario alerts reach the terminal and the console, and
nothing is left running afterwards."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

pytestmark = pytest.mark.integration
WANTED = {("low-early-interaction", "room-1"), ("cart-rate-surge", "room-2")}


def _processes_with(marker: str) -> list[int]:
    """Pids whose environment holds `marker` (every child of the demo inherits it)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _pump(stream, sink: list[str]) -> None:
    for line in stream:
        sink.append(line)


def _console_alerts(base: str, token: str) -> set[tuple[str, str]]:
    """Log in to the console's API as the demo operator and list the firing alerts it shows."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = urllib.request.Request(
        f"{base}/console/api/login", data=json.dumps({"token": token}).encode(),
        headers={"Content-Type": "application/json", "Origin": base})
    with opener.open(login, timeout=5) as resp:
        assert resp.status == 200
    with opener.open(f"{base}/console/api/alerts", timeout=5) as resp:
        events = json.load(resp)["events"]
    found = set()
    for event in events:
        alert = event.get("alert") or event
        if alert.get("state") == "firing":
            found.add((alert.get("rule"), alert.get("room_id")))
    return found


def _live_report(base: str) -> dict | None:
    """The newest broadcast's report from the worker's history API, once it has regions."""
    with urllib.request.urlopen(f"{base}/api/broadcasts", timeout=5) as resp:
        listed = json.load(resp)["broadcasts"]
    if not listed:
        return None
    newest = max(listed, key=lambda b: b["start_ms"])["broadcast_id"]
    with urllib.request.urlopen(f"{base}/api/broadcasts/{newest}/report", timeout=10) as resp:
        report = json.load(resp)
    return report if report["regions"] else None


def test_demo_alerts_reach_terminal_and_console_and_it_stops_cleanly(tmp_path) -> None:
    marker = f"demo-{os.getpid()}-{time.time_ns()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMPULSE_")}
    env["ROOMPULSE_TEST_MARK"] = marker
    # speed 120: the 60-minute broadcast (and its cart surge at minute 40) takes 30 s of wall time.
    cmd = [sys.executable, "-m", "streams.cli", "demo", "--json", "--speed", "120",
           "--broadcast-minutes", "60", "--duration", "90"]
    started = time.monotonic()
    # in a directory of its own: the demo writes history to ./roompulse-data
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)
    out: list[str] = []
    err: list[str] = []
    pumps = [threading.Thread(target=_pump, args=(proc.stdout, out), daemon=True),
             threading.Thread(target=_pump, args=(proc.stderr, err), daemon=True)]
    for t in pumps:
        t.start()
    in_console: set[tuple[str, str]] = set()
    report = None
    try:
        while proc.poll() is None and time.monotonic() - started < 150:
            text = "".join(err)
            m = re.search(r"console\s+(http://127\.0\.0\.1:\d+)/console/\s+\(log in with the "
                          r"demo operator token (\S+)\)", text)
            firing = {(a["rule"], a["room_id"]) for a in map(json.loads, list(out))
                      if a["state"] == "firing"}
            if m and firing >= WANTED and not in_console >= WANTED:
                in_console = _console_alerts(m.group(1), m.group(2))
            if m and firing >= WANTED and report is None:
                report = _live_report(m.group(1))
            time.sleep(0.5)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for t in pumps:
            t.join(5)
    stderr = "".join(err)
    assert proc.returncode == 0, stderr[-2000:]
    alerts = [json.loads(line) for line in out if line.strip()]
    firing = {(a["rule"], a["room_id"]) for a in alerts if a["state"] == "firing"}
    assert firing >= WANTED, stderr[-2000:]
    assert in_console >= WANTED, f"console showed {in_console}"
    surge = next(a for a in alerts if a["rule"] == "cart-rate-surge")
    assert surge["product_id"] and surge["action"]["zh-CN"] and surge["action"]["en"]
    assert not any(a["room_id"] == "room-3" for a in alerts)  # the baseline room stays quiet
    assert "/metrics" in stderr
    # the demo attributes viewers live: its history reports have regions and source conversion
    assert report is not None, stderr[-2000:]
    assert report["audience"] == "live" and len(report["regions"]) >= 5
    assert any(s["conversion"] for s in report["sources"])
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(marker) == [], "the demo left processes behind"


def test_live_worker_fires_and_resolves_stall_and_negative_comment_alerts() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMPULSE_")}
    cmd = [sys.executable, "-m", "streams.cli", "demo", "--json", "--speed", "120",
           "--broadcast-minutes", "60", "--scenario", "stream-stall:room-3",
           "--scenario", "negative-comments:room-2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=150)
    assert proc.returncode == 0, proc.stderr[-2000:]
    alerts = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    seen = {(a["rule"], a["room_id"], a["state"]) for a in alerts}
    for rule, room in (("room-stalled", "room-3"), ("negative-comment-wave", "room-2")):
        assert (rule, room, "firing") in seen, proc.stderr[-2000:]
        assert (rule, room, "resolved") in seen, proc.stderr[-2000:]
    assert {a["room_id"] for a in alerts} == {"room-2", "room-3"}  # room-1 is the baseline
