"""The alert as it leaves the engine: identity, state, evidence and bilingual text."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


class Audience(StrEnum):
    control_room = "control_room"
    host = "host"
    ops = "ops"
    ads_team = "ads_team"


class AlertState(StrEnum):
    firing = "firing"
    resolved = "resolved"


class Evidence(BaseModel):
    """The KPI reading that made the rule fire (or resolve)."""

    model_config = ConfigDict(frozen=True)

    kpi: str
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    window: str
    target: float | None = None
    baseline: float | None = Field(None, description="previous window / trailing baseline value")


class Alert(BaseModel):
    """One alert transition, as sent to every sink (schema: docs/alerts.md)."""

    model_config = ConfigDict(frozen=True)

    fingerprint: str
    rule: str
    room_id: str
    state: AlertState
    severity: Severity
    audience: tuple[Audience, ...]
    labels: dict[str, str] = Field(default_factory=dict)
    product_id: str | None = None
    product_name: str | None = None
    source: str | None = None
    starts_at: int = Field(description="epoch ms (stream clock) the alert started firing")
    ends_at: int | None = Field(None, description="epoch ms it resolved; None while firing")
    minutes_since_start: float | None = None
    evidence: Evidence
    summary: dict[str, str] = Field(description="{'zh-CN': ..., 'en': ...}")
    action: dict[str, str] = Field(description="playbook action, {'zh-CN': ..., 'en': ...}")

    def text(self, lang: str = "zh-CN") -> tuple[str, str]:
        """(summary, action) in `lang`, falling back to zh-CN."""
        return (self.summary.get(lang) or self.summary.get("zh-CN", ""),
                self.action.get(lang) or self.action.get("zh-CN", ""))


def fingerprint(rule: str, room_id: str, labels: dict[str, str] | None = None) -> str:
    """Stable identity of an alert series: rule + room + fan-out labels (product, source)."""
    parts = [rule, room_id] + [f"{k}={v}" for k, v in sorted((labels or {}).items())]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def field_value(alert: Alert, name: str) -> str:
    """A field of the alert by name (`room_id`, `rule`, `severity`, `labels.team`...)."""
    if name.startswith("labels."):
        return alert.labels.get(name[7:], "")
    value = getattr(alert, name, None)
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)
