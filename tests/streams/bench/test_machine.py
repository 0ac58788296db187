"""Pure logic of the bench's report: the machine it ran on and the figures derived from rates."""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass
from importlib import metadata

import pytest

from streams.bench.machine import (
    cpu_model,
    machine_info,
    package_versions,
    ratio,
    reference_figures,
)
from streams.bench.measure import Run, runqueue_seconds
from streams.bench.procs import group_settled
from streams.bench.reference import count, rates

X86 = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R)   Platinum 8375C CPU @ 2.90GHz
flags\t\t: fpu vme

processor\t: 1
model name\t: Intel(R) Xeon(R)   Platinum 8375C CPU @ 2.90GHz
"""
ARM = "processor\t: 0\nBogoMIPS\t: 50.00\n\nHardware\t: BCM2835\nRevision\t: a02082\n"


def test_cpu_model_reads_the_model_name_and_collapses_spaces() -> None:
    assert cpu_model(X86) == "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"


def test_cpu_model_falls_back_to_the_hardware_line() -> None:
    assert cpu_model(ARM) == "BCM2835"


@pytest.mark.parametrize("text", ["", "processor\t: 0\nmodel name\t:   \n", "garbage"])
def test_cpu_model_is_none_when_nothing_names_it(text: str) -> None:
    assert cpu_model(text) is None


def test_machine_info_names_the_cpu_cores_and_python() -> None:
    info = machine_info(X86)
    assert info["cpu_model"] == "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"
    assert info["python"] == platform.python_version()
    assert info["implementation"] == platform.python_implementation()
    assert info["cores"] >= info["cores_usable"] >= 1
    assert info["packages"]["orjson"] == metadata.version("orjson")


def test_package_versions_says_none_for_what_is_not_installed() -> None:
    got = package_versions(("orjson", "no-such-distribution-roompulse"))
    assert got == {"orjson": metadata.version("orjson"), "no-such-distribution-roompulse": None}


@pytest.mark.parametrize(("part", "whole", "want"), [
    (45_000, 100_000, 0.45), (1, 3, 0.333), (200_000, 100_000, 2.0)])
def test_ratio_divides_and_rounds(part: float, whole: float, want: float) -> None:
    assert ratio(part, whole) == want


@pytest.mark.parametrize(("part", "whole"), [
    (None, 1.0), (1.0, None), (0.0, 1.0), (1.0, 0.0), (-1.0, 1.0), (math.nan, 1.0),
    (1.0, math.inf)])
def test_ratio_is_none_for_anything_not_measured(part, whole) -> None:
    assert ratio(part, whole) is None


def test_reference_figures_compare_rates_and_cpu_per_event() -> None:
    got = reference_figures(events_per_s=120_000, cpu_s_per_million=6.0,
                            ref_events_per_s=300_000.4, ref_cpu_s_per_million=2.7)
    assert got == {"reference_events_per_s": 300_000, "reference_cpu_s_per_million": 2.7,
                   "reference_ratio": 0.4, "reference_cpu_ratio": 0.45}


def test_reference_figures_without_a_reference_run() -> None:
    got = reference_figures(120_000, 6.0, None, None)
    assert set(got.values()) == {None}


@dataclass
class Rec:
    value: bytes | None


def test_the_reference_loop_counts_rooms_and_types_and_skips_bad_messages() -> None:
    batch = {("t", 0): [Rec(b'{"room_id":"r1","type":"like"}'), Rec(b"not json {"),
                        Rec(None), Rec(b"[1,2]")],
             ("t", 1): [Rec(b'{"room_id":"r1","type":"like"}'),
                        Rec(b'{"room_id":"r2","type":"enter"}')]}
    counts: dict = {}
    assert count(batch, counts) == 6  # every message read counts, bad ones too
    assert counts == {("r1", "like"): 2, ("r2", "enter"): 1}


def test_reference_rates() -> None:
    assert rates({"events": 500_000, "seconds": 2.0, "cpu_seconds": 1.5}) == (250_000, 3.0)
    assert rates({"events": 0, "seconds": 0.0, "cpu_seconds": None}) == (None, None)


def test_server_cpu_over_the_measured_span() -> None:
    run = Run(n_first=100_000, t_first=10.0, n_last=1_100_000, t_last=15.0,
              servers_first={"tansu": 1.0, "valkey": 2.0},
              servers_last={"tansu": 1.5, "valkey": 4.5})
    assert run.server_cpu_s_per_million == {"tansu": 0.5, "valkey": 2.5}
    assert run.server_cpu_share == {"tansu": 0.1, "valkey": 0.5}
    empty = Run(servers_first={"tansu": 1.0}, servers_last={"tansu": 1.0})
    assert empty.server_cpu_s_per_million == {"tansu": None}
    assert empty.server_cpu_share == {"tansu": None}


@dataclass
class Described:
    """The shape of aiokafka's DescribeGroupsResponse: groups of (error, id, state, ...)."""

    groups: list


def member(i: int) -> tuple:
    return (f"m{i}", "", "", b"", b"")


@pytest.mark.parametrize(("state", "members", "want", "settled"), [
    ("Stable", 2, 2, True), ("Stable", 1, 2, False), ("PreparingRebalance", 2, 2, False),
    ("Empty", 0, 1, False), ("Stable", 3, 2, False)])
def test_group_settled_needs_stable_with_every_worker(state, members, want, settled) -> None:
    resp = Described([(0, "g", state, "consumer", "", [member(i) for i in range(members)])])
    assert group_settled(resp, want) is settled


def test_group_settled_without_groups() -> None:
    assert group_settled(Described([]), 1) is False


def test_second_half_of_the_span() -> None:
    run = Run(n_first=0, t_first=1.0, cpu_first=0.0, n_mid=500_000, t_mid=5.0, cpu_mid=4.0,
              n_last=1_000_000, t_last=7.0, cpu_last=6.5)
    assert run.second_half == (250_000, 5.0)
    assert Run(n_first=0, t_first=1.0, n_last=10, t_last=2.0).second_half == (None, None)


def test_cpu_and_runqueue_shares_of_the_span() -> None:
    run = Run(n_first=0, t_first=10.0, cpu_first=1.0, wait_first=0.5,
              n_last=100, t_last=14.0, cpu_last=3.0, wait_last=1.7)
    assert run.cpu_share == 0.5
    assert run.runqueue_share == pytest.approx(0.3)
    assert Run().cpu_share is None and Run().runqueue_share is None


def test_runqueue_seconds_reads_this_process_and_tolerates_a_gone_one() -> None:
    assert runqueue_seconds("self") >= 0.0
    assert runqueue_seconds(2**22 + 12345) == 0.0  # above pid_max: no such process
