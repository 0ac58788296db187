"""`roompulse demo` end to end: both scenario alerts reach the terminal, and nothing is left running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration


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


def test_demo_shows_both_scenario_alerts_and_stops_cleanly() -> None:
    marker = f"ROOMPULSE_TEST_MARK=demo-{os.getpid()}-{time.time_ns()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMPULSE_")}
    env["ROOMPULSE_TEST_MARK"] = marker.split("=", 1)[1]
    # speed 120: the 60-minute broadcast (and its cart surge at minute 40) takes 30 s of wall time.
    cmd = [sys.executable, "-m", "streams.cli", "demo", "--json", "--speed", "120",
           "--broadcast-minutes", "60", "--duration", "75"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        out, err = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-2000:]
    alerts = [json.loads(line) for line in out.splitlines() if line.strip()]
    firing = {(a["rule"], a["room_id"]) for a in alerts if a["state"] == "firing"}
    assert ("low-early-interaction", "room-1") in firing, err[-2000:]
    assert ("cart-rate-surge", "room-2") in firing, err[-2000:]
    surge = next(a for a in alerts if a["rule"] == "cart-rate-surge")
    assert surge["product_id"] and surge["action"]["zh-CN"] and surge["action"]["en"]
    # The baseline room stays quiet.
    assert not any(a["room_id"] == "room-3" for a in alerts)
    assert "console" in err and "/metrics" in err
    assert time.monotonic() - started < 140
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(marker) == [], "the demo left processes behind"
