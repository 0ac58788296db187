"""Receivers: who gets which alerts, through which sinks, how often, grouped how."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from alerts.model import Audience, Severity
from alerts.scope import DurationMs


class Receiver(BaseModel):
    """A recipient (the control room, a host, a topic...) and its delivery policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sinks: tuple[str, ...]
    audiences: tuple[Audience, ...] | None = Field(None, description="None = every alert")
    min_severity: Severity = Severity.info
    rules: tuple[str, ...] | None = None
    group_by: tuple[str, ...] = ("room_id",)
    renotify: DurationMs = Field(30 * 60_000, description="repeat a still-firing alert; 0 = never")
    rate_limit_per_min: int | None = Field(None, ge=1)
    every_evaluation: bool = Field(False, description="no dedup: state mirrors (Prometheus)")


class InhibitRule(BaseModel):
    """A firing `source_rule` alert mutes other alerts that share the `equal` fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_rule: str
    target_rules: tuple[str, ...] | None = Field(None, description="None = every other rule")
    equal: tuple[str, ...] = ("room_id",)


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    receivers: tuple[Receiver, ...]
    inhibit: tuple[InhibitRule, ...] = (InhibitRule(source_rule="room-stalled"),)
    retry_attempts: int = Field(3, ge=1)
    retry_backoff_ms: int = Field(200, ge=0)


DEFAULT_CONFIG = PipelineConfig(receivers=(
    Receiver(name="alerts-topic", sinks=("topic",), renotify=0),
    Receiver(name="metrics", sinks=("prometheus",), every_evaluation=True, group_by=()),
))
