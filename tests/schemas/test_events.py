"""Every event model: a valid example each, and the invalid inputs producers most often send."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER, EVENT_TYPES, MAX_COMMENT_BYTES
from schemas.examples import EXAMPLES, NOW_MS


def validate(obj: dict, now_ms: int = NOW_MS):
    return EVENT_ADAPTER.validate_python(obj, context={"now_ms": now_ms})


def test_every_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("etype", sorted(EVENT_TYPES))
def test_valid_example_parses_to_its_model(etype: str) -> None:
    event = validate(EXAMPLES[etype])
    assert type(event) is EVENT_TYPES[etype]
    assert event.type == etype
    assert event.room_id == EXAMPLES[etype]["room_id"]


def test_iso_timestamp_with_zone_is_normalised_to_utc_ms() -> None:
    obj = {**EXAMPLES["like"], "ts": "2026-11-22T08:00:00+08:00"}
    assert validate(obj).ts == 1795305600000


def test_iso_timestamp_with_z() -> None:
    obj = {**EXAMPLES["like"], "ts": "2026-11-22T00:00:00.250Z"}
    assert validate(obj).ts == 1795305600250


@pytest.mark.parametrize(
    "ts, fragment",
    [
        ("2026-11-22T08:00:00", "no time zone"),
        ("yesterday", "not ISO-8601"),
        (1795305600, "seconds given"),
        (True, "boolean"),
        (1.5e12 + 0.5, "whole number"),
    ],
)
def test_bad_timestamps_name_the_problem(ts, fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate({**EXAMPLES["like"], "ts": ts})
    assert fragment in str(err.value)
    assert err.value.errors()[0]["loc"][-1] == "ts"


def test_timestamp_more_than_five_minutes_ahead_is_rejected() -> None:
    with pytest.raises(ValidationError, match="in the future"):
        validate({**EXAMPLES["like"], "ts": NOW_MS + 301_000})
    assert validate({**EXAMPLES["like"], "ts": NOW_MS + 299_000}).ts == NOW_MS + 299_000


def test_future_check_uses_wall_clock_without_context() -> None:
    obj = {**EXAMPLES["like"], "ts": int(time.time() * 1000) + 3_600_000}
    with pytest.raises(ValidationError, match="in the future"):
        EVENT_ADAPTER.validate_python(obj)


@pytest.mark.parametrize(
    "etype, field, value",
    [
        ("order", "amount", -0.01),
        ("order", "quantity", 0),
        ("cart_add", "quantity", 0),
        ("cart_add", "quantity", -2),
        ("ad_spend", "amount", -5),
        ("like", "count", 0),
        ("leave", "watch_ms", -1),
        ("enter", "source", "billboard"),
        ("stage_change", "stage", "harvest"),
        ("phase_change", "phase", "night"),
        ("order", "status", "shipped"),
        ("order", "currency", "rmb"),
        ("like", "platform", "myspace"),
        ("stock_update", "stock", -1),
        ("like", "room_id", ""),
    ],
)
def test_invalid_field_is_named(etype: str, field: str, value) -> None:
    with pytest.raises(ValidationError) as err:
        validate({**EXAMPLES[etype], field: value})
    assert err.value.errors()[0]["loc"][-1] == field


@pytest.mark.parametrize("etype, field", [("order", "order_id"), ("product_click", "product_id"),
                                          ("like", "event_id"), ("leave", "watch_ms")])
def test_missing_required_field_is_named(etype: str, field: str) -> None:
    obj = {k: v for k, v in EXAMPLES[etype].items() if k != field}
    with pytest.raises(ValidationError) as err:
        validate(obj)
    assert err.value.errors()[0]["loc"][-1] == field
    assert err.value.errors()[0]["type"] == "missing"


def test_comment_text_limit_counts_utf8_bytes() -> None:
    ok = "好" * (MAX_COMMENT_BYTES // 3)
    assert validate({**EXAMPLES["comment"], "text": ok}).text == ok
    with pytest.raises(ValidationError, match="bytes; the limit is 2048"):
        validate({**EXAMPLES["comment"], "text": "好" * (MAX_COMMENT_BYTES // 3 + 1)})


def test_unknown_extra_fields_are_ignored_not_fatal() -> None:
    event = validate({**EXAMPLES["order"], "coupon": "X1", "nested": {"a": [1, 2]}})
    assert not hasattr(event, "coupon")
    assert "coupon" not in event.model_dump()


def test_order_amount_in_cents_rounds_float_noise() -> None:
    assert validate({**EXAMPLES["order"], "amount": 19.9}).amount_cents == 1990
    assert validate({**EXAMPLES["order"], "amount": 0.29}).amount_cents == 29


def test_only_schema_version_one_is_accepted() -> None:
    with pytest.raises(ValidationError) as err:
        validate({**EXAMPLES["like"], "schema_version": 2})
    assert err.value.errors()[0]["loc"][-1] == "schema_version"


def test_events_are_immutable() -> None:
    event = validate(EXAMPLES["like"])
    with pytest.raises(ValidationError):
        event.count = 3  # type: ignore[misc]  # assigning to a frozen event is the point
