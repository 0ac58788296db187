"""EVENT_FIELDS_LIST_VALIDATOR is EVENT_LIST_ADAPTER without model instances: same verdicts."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.events import EVENT_FIELDS_LIST_VALIDATOR, EVENT_LIST_ADAPTER, EVENT_TYPES
from schemas.examples import EXAMPLES, NOW_MS

CTX = {"now_ms": NOW_MS}


def both(objs: list):
    """(models or the error list, field dicts or the error list) for the same input."""
    out = []
    for validate in (EVENT_LIST_ADAPTER.validate_python,
                     EVENT_FIELDS_LIST_VALIDATOR.validate_python):
        try:
            out.append(validate(objs, context=CTX))
        except ValidationError as exc:
            out.append([(e["type"], e["loc"], e["msg"])
                        for e in exc.errors(include_url=False, include_input=False)])
    return out


def test_every_example_gives_the_models_fields() -> None:
    objs = [EXAMPLES[t] for t in sorted(EVENT_TYPES)]
    models, fields = both(objs)
    assert [m.__dict__ for m in models] == fields


@pytest.mark.parametrize("etype, change", [
    ("like", {"ts": NOW_MS + 3_600_000}),  # the future check (a validator with context)
    ("like", {"ts": "2026-11-22T08:00:00+08:00"}),  # ISO ts (a before-validator)
    ("comment", {"text": "好" * 1000}),  # the comment size validator
    ("order", {"amount": -1, "quantity": 0}),
    ("enter", {"source": "billboard", "extra": 1}),
    ("order", {"order_id": None}),
])
def test_same_verdict_and_errors_on_edge_cases(etype: str, change: dict) -> None:
    models, fields = both([{**EXAMPLES[etype], **change}])
    if isinstance(fields, list) and fields and isinstance(fields[0], tuple):
        assert fields == models  # the same errors, at the same locations
    else:
        assert [m.__dict__ for m in models] == fields


values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                   st.sampled_from(["paid", "douyin", "search", "2026-11-22T00:00:00Z"]),
                   st.integers(min_value=NOW_MS - 10**9, max_value=NOW_MS + 10**9))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(sorted(EVENT_TYPES)),
       st.dictionaries(st.sampled_from(["ts", "count", "amount", "status", "platform", "source",
                                        "user_id", "watch_ms", "type", "event_id", "stage"]),
                       values, max_size=3))
def test_same_verdict_on_corrupted_events(etype: str, change: dict) -> None:
    obj = json.loads(json.dumps({**EXAMPLES[etype], **change}))
    models, fields = both([obj])
    if fields and isinstance(fields[0], tuple):
        assert fields == models
    else:
        assert [m.__dict__ for m in models] == fields
