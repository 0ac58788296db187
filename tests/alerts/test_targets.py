"""The targets file: validation with file:line:field errors, and per-room resolution."""

import pytest

from alerts.scope import Moment, Scope, parse_duration_ms, parse_hours
from alerts.targets import Targets, TargetsFile
from alerts.yamlfile import ConfigError, load_yaml

T = 1_767_240_000_000  # 2026-01-01 12:00 Asia/Shanghai (04:00 UTC)

FILE = """\
version: 1
stage: conversion
stages:
  conversion:
    ctr: {min: 0.03, window: 10m}
    cart_rate: {min: 0.1}
brands:
  brand-1:
    stage: traffic
    rooms:
      "night-*":
        schedule:
          - {hours: "11-13", stage: retention, phase: replay}
      room-7:
        stages:
          conversion:
            ctr: {min: 0.08, window: 5m}
"""


def load(text: str, name: str = "t.yaml") -> Targets:
    return Targets(load_yaml(name, TargetsFile, text=text), name)


def test_the_shipped_defaults_load():
    t = Targets.load()
    rt = t.resolve("any-room", None, None, None, T)
    assert rt.stage == "conversion" and rt.phase == "live"
    assert rt.for_kpi("ctr")[0].min == 0.03


def test_an_error_names_file_line_and_field():
    bad = FILE.replace("ctr: {min: 0.08, window: 5m}", "ctr: {min: 0.08, window: 5 minutes}")
    with pytest.raises(ConfigError) as exc:
        load(bad)
    msg = str(exc.value)
    assert msg.startswith("t.yaml:17: brands.brand-1.rooms.room-7.stages.conversion.ctr.window: ")
    assert "window" in msg


def test_unknown_kpi_and_min_above_max_are_rejected():
    with pytest.raises(ConfigError, match="not a room KPI"):
        load("stages:\n  traffic:\n    clicks_per_hour: {min: 1}\n")
    with pytest.raises(ConfigError, match=r"t.yaml:3: .*min 2.0 is above max 1.0"):
        load("stages:\n  traffic:\n    ctr: {min: 2, max: 1}\n")


def test_invalid_yaml_names_the_line():
    with pytest.raises(ConfigError, match=r"^t.yaml:3: invalid YAML"):
        load("version: 1\nstages:\n\ttraffic: 1\n")


def test_control_events_win_over_schedule_and_defaults():
    t = load(FILE)
    assert t.resolve("night-1", "brand-1", None, None, T).stage == "retention"  # 12:00 slot
    assert t.resolve("night-1", "brand-1", None, None, T + 3 * 3600_000).stage == "traffic"
    assert t.resolve("night-1", "brand-1", "conversion", None, T).stage == "conversion"
    assert t.resolve("other", None, None, None, T).stage == "conversion"


def test_room_targets_override_file_targets_by_kpi():
    t = load(FILE)
    rt = t.resolve("room-7", None, "conversion", "live", T)  # brand found by the room id
    assert [x.min for x in rt.for_kpi("ctr")] == [0.08]
    assert [x.min for x in rt.for_kpi("cart_rate")] == [0.1]
    assert t.resolve("room-8", "brand-1", "conversion", None, T).for_kpi("ctr")[0].min == 0.03


def test_scope_and_durations():
    assert parse_duration_ms("1h30m") == 5_400_000 and parse_duration_ms(90) == 90_000
    assert parse_hours("22-2") == {22, 23, 0, 1, 2}
    m = Moment(T, "traffic", "live", 10 * 60_000, 12)
    assert Scope(first="30m", stages=("traffic",)).holds(m)
    assert not Scope(first="5m").holds(m)
    assert not Scope(after="20m").holds(m)
    assert not Scope(hours="0-6").holds(m) and Scope(hours="12").holds(m)
    assert not Scope(phases=("replay",)).holds(m)
