"""JSON Schema export and the generated docs stay true to the models."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from schemas.docs import render
from schemas.events import EVENT_TYPES
from schemas.examples import EXAMPLES
from schemas.export import export_all, schema_for
from streams.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_export_writes_one_schema_per_type(tmp_path: Path) -> None:
    assert main(["schemas", "export", str(tmp_path / "out")]) == 0
    names = sorted(p.stem for p in (tmp_path / "out").glob("*.json"))
    assert names == sorted(EVENT_TYPES)


@pytest.mark.parametrize("etype", sorted(EVENT_TYPES))
def test_exported_schema_accepts_the_example_and_rejects_a_wrong_type(etype: str) -> None:
    schema = schema_for(etype)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(EXAMPLES[etype])
    other = "like" if etype != "like" else "share"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**EXAMPLES[etype], "type": other})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({k: v for k, v in EXAMPLES[etype].items() if k != "event_id"})


def test_schema_accepts_iso_timestamps(tmp_path: Path) -> None:
    export_all(tmp_path)
    schema = json.loads((tmp_path / "order.json").read_text())
    jsonschema.validate({**EXAMPLES["order"], "ts": "2026-11-22T20:00:00+08:00"}, schema)


def test_docs_events_md_is_generated_from_the_models() -> None:
    committed = (ROOT / "docs" / "events.md").read_text()
    assert committed == render(), "run: python -m schemas.docs > docs/events.md"
