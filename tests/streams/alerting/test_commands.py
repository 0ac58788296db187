"""The CLI: targets check, rules test (series and recordings), backtest --json."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from streams.cli import main
from streams.simulator.config import ScenarioSpec, SimConfig
from streams.simulator.runner import record

START = 1_767_240_000_000


@pytest.fixture(scope="module")
def stall_recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "stall.jsonl"
    cfg = SimConfig(start_ms=START, rooms=2, seed=4, duration_min=26, exposures_per_min=100,
                    scenarios=(ScenarioSpec.parse("stream-stall:room-2"),))
    record(cfg, path)
    return path


def test_targets_check_reports_file_line_field(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("stages:\n  traffic:\n    entry_rate: {min: 0.2}\n")
    assert main(["targets", "check", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages:\n  traffic:\n    entry_rate: {min: high}\n")
    assert main(["targets", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: stages.traffic.entry_rate.min:" in err


def test_rules_test_runs_the_shipped_pack(capsys):
    assert main(["rules", "test"]) == 0
    out = capsys.readouterr().out
    assert "room-stalled.yaml: SUCCESS" in out and "FAILED" not in out


def test_rules_test_with_a_recording(tmp_path, stall_recording, capsys):
    spec = tmp_path / "stall-test.yaml"
    spec.write_text(f"""
tests:
  - name: the stalled room alerts, then recovers
    recording: {stall_recording}
    interval: 30s
    alerts:
      - {{at: 18m, firing: []}}
      - {{at: 21m, firing: [{{rule: room-stalled, room_id: room-2}}]}}
      - {{at: 24m, firing: []}}
  - name: a wrong expectation fails
    recording: {stall_recording}
    interval: 30s
    alerts:
      - {{at: 21m, firing: []}}
""")
    assert main(["rules", "test", str(spec)]) == 1
    out = capsys.readouterr().out
    assert "FAILED (2 cases)" in out
    assert "a wrong expectation fails @ 21m" in out and "the stalled room" not in out


def test_backtest_json_timeline(stall_recording, capsys):
    assert main(["backtest", str(stall_recording), "--json", "--step", "30"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["rule"], x["room_id"], x["state"]) for x in lines] == [
        ("room-stalled", "room-2", "firing"), ("room-stalled", "room-2", "resolved")]
    assert all(isinstance(x["at"], int) and "value" in x for x in lines)


async def test_backtest_cli_finishes_a_bad_events_recording_and_reports_it(tmp_path):
    """A hang regression, guarded from outside: the old backtest stepped ten years of stream
    time for one future_ts line, in a loop that never yields, so only a process can time out."""
    path = tmp_path / "bad.jsonl"
    cfg = SimConfig(start_ms=START, rooms=2, seed=8, duration_min=10, exposures_per_min=80,
                    bad_events=0.04, duplicates=0.03)
    truth = record(cfg, path).to_json()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams.cli", "backtest", str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    summary = err.decode().strip().splitlines()[-1]
    bad = truth["bad_events"]
    assert bad["future_ts"] > 0
    assert summary.startswith(f"# {truth['messages']['total']} messages, "
                              f"{truth['messages']['unique_events']} events folded, "
                              f"{truth['duplicates_injected']} duplicates skipped, "
                              f"{sum(bad.values())} dead letters (")
    reasons = summary.split(" dead letters (", 1)[1].split(")", 1)[0]
    assert reasons == ", ".join(f"{r} {n}" for r, n in sorted(bad.items()))
    assert summary.endswith(", 0 alerts fired") and out == b""


def test_backtest_cli_refuses_a_zero_step(stall_recording, capsys):
    assert main(["backtest", str(stall_recording), "--step", "0"]) == 1
    assert "step" in capsys.readouterr().err
