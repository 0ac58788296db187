"""Small builders shared by the alert tests."""

from __future__ import annotations

import yaml

from alerts.evaluator import Evaluator
from alerts.rules import RulePack
from alerts.series import SeriesReader
from alerts.targets import Targets, TargetsFile

T0 = 1_767_240_000_000
ACTION = {"zh-CN": "处理", "en": "act"}


def pack(*rules: dict) -> RulePack:
    return RulePack.model_validate({"rules": [{"action": ACTION, **r} for r in rules]})


def targets(text: str = "stages: {}") -> Targets:
    return Targets(TargetsFile.model_validate(yaml.safe_load(text)))


def reader(rooms: dict) -> SeriesReader:
    r = SeriesReader(T0)
    for room_id, spec in rooms.items():
        r.add_room(room_id, spec)
    return r


async def run(ev: Evaluator, r: SeriesReader, until_s: int, every_s: int = 10, start_s: int = 0):
    """Evaluate every `every_s` up to `until_s`; return all transitions and the last result."""
    transitions, last = [], None
    for t in range(start_s, until_s + 1, every_s):
        r.now_ms = T0 + t * 1000
        last = await ev.evaluate(r)
        transitions.extend(last.transitions)
    return transitions, last


def firing(result) -> set[tuple]:
    return {(a.rule, a.room_id, a.product_id, a.source) for a in result.alerts
            if a.state == "firing"}
