"""`roompulse rules test`: KPI series per minute in, expected firing alerts at given times out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.evaluator import Evaluator, Transition
from alerts.rules import RulePack
from alerts.scope import DurationMs
from alerts.series import SeriesReader
from alerts.targets import Targets
from alerts.yamlfile import load_yaml

DEFAULT_TESTS = Path(__file__).parent / "defaults" / "tests"
T0 = 1_767_240_000_000  # 2026-01-01 12:00 Asia/Shanghai


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    room_id: str
    product_id: str | None = None
    source: str | None = None


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: DurationMs
    firing: list[Expected] = Field(default_factory=list)


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    start_ms: int = T0
    interval: DurationMs = 10_000
    rooms: dict[str, dict[str, Any]] = Field(default_factory=dict)
    recording: str | None = Field(None, description="event recording (.jsonl) instead of rooms; "
                                  "times count from its first event")
    alerts: list[Check]


class TestFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: str | None = Field(None, description="rule file, relative to this file; default pack")
    targets: str | None = None
    tests: list[Case]


@dataclass
class Failure:
    case: str
    at_ms: int
    missing: list[dict[str, str | None]]
    unexpected: list[dict[str, str | None]]

    def __str__(self) -> str:
        return (f"{self.case} @ {self.at_ms / 60_000:g}m: missing {self.missing or '-'}; "
                f"unexpected {self.unexpected or '-'}")


# (rule, room_id, product_id, source): what a test case expects to be firing
AlertKey = tuple[str, str, str | None, str | None]


def _key(d: dict[str, Any]) -> AlertKey:
    return (d["rule"], d["room_id"], d.get("product_id"), d.get("source"))


# (recording path, rules, targets, step ms) -> (first event ms, transitions); streams provides it
RecordingRunner = Callable[[Path, RulePack, Targets, int],
                          Awaitable[tuple[int, list[Transition]]]]


def _compare(case: Case, at: int, got: set[AlertKey], want_list: list[Expected]) -> Failure | None:
    want = {_key(e.model_dump()) for e in want_list}
    # an expectation without product_id matches a product alert of that rule and room
    loose = {(k[0], k[1]) for k in want if k[2] is None and k[3] is None}
    missing = [k for k in want if k not in got and
               not ((k[0], k[1]) in loose and any(g[:2] == k[:2] for g in got))]
    unexpected = [g for g in got if g not in want and g[:2] not in loose]
    if not missing and not unexpected:
        return None
    names = ("rule", "room_id", "product_id", "source")
    return Failure(case.name, at, [dict(zip(names, k, strict=True)) for k in missing],
                   [dict(zip(names, k, strict=True)) for k in unexpected])


async def run_recording_case(case: Case, path: Path, rules: RulePack, targets: Targets,
                             runner: RecordingRunner) -> list[Failure]:
    first_ms, transitions = await runner(path, rules, targets, case.interval)
    failures = []
    for check in sorted(case.alerts, key=lambda c: c.at):
        firing: set[AlertKey] = set()
        for t in transitions:
            if t.at > first_ms + check.at:
                break
            key = (t.rule, t.room_id, t.labels.get("product_id"), t.labels.get("source"))
            if t.state == "firing":
                firing.add(key)
            elif t.state == "resolved":
                firing.discard(key)
        f = _compare(case, check.at, firing, check.firing)
        if f:
            failures.append(f)
    return failures


async def run_case(case: Case, rules: RulePack, targets: Targets) -> list[Failure]:
    reader = SeriesReader(case.start_ms)
    for room_id, spec in case.rooms.items():
        reader.add_room(room_id, spec)
    ev = Evaluator(rules, targets, max_gap_ms=3 * case.interval)
    checks = sorted(case.alerts, key=lambda c: c.at)
    failures: list[Failure] = []
    t = 0
    for check in checks:
        result = None
        while t <= check.at:
            reader.now_ms = case.start_ms + t
            result = await ev.evaluate(reader)
            t += case.interval
        firing = [a for a in (result.alerts if result else []) if a.state == "firing"]
        got = {_key({"rule": a.rule, "room_id": a.room_id, "product_id": a.product_id,
                     "source": a.source}) for a in firing}
        f = _compare(case, check.at, got, check.firing)
        if f:
            failures.append(f)
    return failures


async def run_file(path: str | Path, recording_runner: RecordingRunner | None = None
                   ) -> tuple[int, list[Failure]]:
    """(number of cases, failures) for one test file."""
    path = Path(path)
    tf = load_yaml(path, TestFile)
    rules = RulePack.load(path.parent / tf.rules if tf.rules else None)
    targets = Targets.load(path.parent / tf.targets if tf.targets else None)
    failures: list[Failure] = []
    for case in tf.tests:
        if case.recording is None:
            failures.extend(await run_case(case, rules, targets))
        elif recording_runner is None:
            failures.append(Failure(case.name, 0, [{"error": "recordings need the streams "
                                                             "runner (roompulse rules test)"}], []))
        else:
            failures.extend(await run_recording_case(case, path.parent / case.recording, rules,
                                                     targets, recording_runner))
    return len(tf.tests), failures
