"""Write one JSON Schema file per event type, for producers in other languages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.events import EVENT_TYPES, MAX_COMMENT_BYTES, MAX_MESSAGE_BYTES


def schema_for(event_type: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one event type."""
    model = EVENT_TYPES[event_type]
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://roompulse.dev/schemas/v1/{event_type}.json"
    schema["title"] = event_type
    # `type` is the discriminator: producers must send it even though the model has a default.
    schema.setdefault("required", [])
    if "type" not in schema["required"]:
        schema["required"].append("type")
    schema["properties"]["type"] = {"const": event_type, "type": "string"}
    ts = schema["properties"]["ts"]
    schema["properties"]["ts"] = {
        "description": "event time: epoch milliseconds or ISO-8601 with a zone",
        "anyOf": [
            {"type": "integer", "minimum": 1_000_000_000_000},
            {"type": "string", "format": "date-time"},
        ],
        **({"title": ts["title"]} if "title" in ts else {}),
    }
    schema["x-roompulse-limits"] = {
        "max_message_bytes": MAX_MESSAGE_BYTES,
        "max_comment_bytes": MAX_COMMENT_BYTES,
        "max_future_seconds": 300,
    }
    return schema


def export_all(directory: Path) -> list[Path]:
    """Write `<type>.json` for every event type into `directory`; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in sorted(EVENT_TYPES):
        path = directory / f"{event_type}.json"
        path.write_text(json.dumps(schema_for(event_type), indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written
