"""roompulse event contracts: models, decoder and JSON Schema export (imports nothing of ours)."""

from schemas.decode import DeadLetter, DeadLetterReason, decode, encode
from schemas.events import (
    ALL_EVENTS,
    CONTROL_TYPES,
    EVENT_ADAPTER,
    EVENT_LIST_ADAPTER,
    EVENT_TYPES,
    BaseEvent,
    Event,
    OrderStatus,
    Phase,
    Platform,
    Source,
    Stage,
)

__all__ = [
    "ALL_EVENTS", "CONTROL_TYPES", "EVENT_ADAPTER", "EVENT_LIST_ADAPTER", "EVENT_TYPES",
    "BaseEvent", "DeadLetter", "DeadLetterReason", "Event", "OrderStatus", "Phase",
    "Platform", "Source", "Stage", "decode", "encode",
]
