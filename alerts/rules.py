"""The rule file: one declarative rule per alert, of seven kinds (target, change, pace, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerts.model import Audience, Severity
from alerts.pace import PACE_KPIS
from alerts.scope import DurationMs, Scope
from alerts.targets import KPI_NAMES
from alerts.yamlfile import load_yaml
from schemas.kpis import parse_window

DEFAULT_RULES = Path(__file__).parent / "defaults" / "rules.yaml"
Kind = Literal["target", "change", "threshold", "no_data", "negative_share", "pace", "history"]
FanOut = Literal["room", "product", "source"]


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    zh: str = Field(alias="zh-CN")
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"zh-CN": self.zh, "en": self.en}


class Condition(BaseModel):
    """An extra condition a threshold rule also needs (e.g. high CTR *and* low order rate)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kpi: str
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one(self) -> Condition:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above / below")
        return self


class Rule(BaseModel):
    """One alert rule; see docs/alerts.md for each field."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: Kind
    enabled: bool = True
    kpi: str | None = None
    window: str | None = None
    fan_out: FanOut = "room"
    pinned_only: bool = Field(False, description="product fan-out: only the pinned product")
    # target: which of the stage's targets, and which bound
    kpis: tuple[str, ...] | None = None
    exclude_kpis: tuple[str, ...] = ()
    bound: Literal["min", "max", "both"] = "both"
    # threshold / negative_share
    above: float | None = None
    below: float | None = None
    and_: tuple[Condition, ...] = Field((), alias="and")
    # change
    direction: Literal["increase", "decrease"] = "increase"
    by: float = Field(0.3, gt=0, description="relative change, 0.3 = 30%")
    baseline: str = Field("previous", description="previous | trailing:<window> | broadcast")
    min_baseline_denominator: float | None = Field(None, ge=0,
                                                   description="default min_denominator")
    baseline_prior: float = Field(0, ge=0, description="pseudo-count pulling a product/source "
                                  "baseline towards the room's value (steadies thin baselines)")
    thin_baseline_share: float = Field(
        0, ge=0, lt=1, description="a baseline window whose denominator is below this share of "
        "the current window's (the product was not presented then) is replaced by "
        "`thin_fallback`")
    thin_fallback: Literal["broadcast", "room"] = Field(
        "broadcast", description="broadcast: the member's own rate from the broadcast start to "
        "the current window, else the room's; room: the room's rate in the baseline window")
    # pace: the broadcast total projected to the planned end, against the goal
    goal: float | None = Field(None, gt=0, description="default: the room's `min` target on "
                               "the broadcast window for the KPI, in its current stage")
    planned: DurationMs | None = Field(None, description="the broadcast's planned length")
    # history: vs the same broadcast minute of the room's last `last` broadcasts (median)
    last: int = Field(5, ge=1, le=50, description="how many earlier broadcasts")
    min_broadcasts: int = Field(3, ge=1, description="fewer of them reaching this minute: "
                                "no series")
    # no_data
    after: DurationMs = 60_000
    # lifecycle and hysteresis
    for_: DurationMs = Field(0, alias="for")
    keep_firing_for: DurationMs = 0
    recovery: float = Field(0.1, ge=0, lt=1, description="relative margin to cross to resolve")
    recover_at: float | None = None
    min_denominator: float = Field(0, ge=0)
    scope: Scope = Field(default_factory=Scope)
    # delivery
    severity: Severity = Severity.warning
    audience: tuple[Audience, ...] = (Audience.control_room,)
    labels: dict[str, str] = Field(default_factory=dict)
    summary: Bilingual | None = None
    action: Bilingual

    @field_validator("window")
    @classmethod
    def _window(cls, v: str | None) -> str | None:
        if v is not None:
            parse_window(v)
        return v

    @field_validator("baseline")
    @classmethod
    def _baseline(cls, v: str) -> str:
        if v not in ("previous", "broadcast"):
            head, _, win = v.partition(":")
            if head != "trailing" or parse_window(win)[0] != "rolling":
                raise ValueError(
                    "baseline: previous, broadcast or trailing:<window> (e.g. trailing:30m)")
        return v

    @model_validator(mode="after")
    def _kind_fields(self) -> Rule:
        names = KPI_NAMES[self.fan_out]
        if self.kind in ("change", "threshold") and not self.kpi:
            raise ValueError(f"a {self.kind} rule needs kpi")
        if self.kind == "negative_share" and self.below is not None:
            raise ValueError("negative_share takes `above` (or the stage's max target)")
        if self.kind == "threshold" and (self.above is None) == (self.below is None):
            raise ValueError("a threshold rule needs exactly one of above / below")
        if self.pinned_only and self.fan_out != "product":
            raise ValueError("pinned_only needs fan_out: product")
        if self.kind == "negative_share" and self.fan_out != "room":
            raise ValueError("negative_share is per room")
        for kpi in [self.kpi, *(c.kpi for c in self.and_)]:
            if kpi and kpi not in names:
                raise ValueError(f"{kpi!r} is not a {self.fan_out} KPI")
        if self.kind == "pace":
            if self.planned is None or self.below is None or not 0 < self.below <= 2:
                raise ValueError("a pace rule needs `planned` (e.g. 2h) and `below`, the share "
                                 "of the goal under which it breaches (e.g. 0.8)")
            if self.fan_out != "room" or (self.kpi or "gmv") not in PACE_KPIS:
                raise ValueError(f"a pace rule projects a room total: {sorted(PACE_KPIS)}")
        if self.kind == "history" and (not self.kpi or not self.window
                                       or self.fan_out != "room"
                                       or self.min_broadcasts > self.last):
            raise ValueError("a history rule needs a room kpi and a window, and "
                             "min_broadcasts <= last")
        if self.thin_baseline_share and (self.kind != "change" or self.fan_out == "room"):
            raise ValueError("thin_baseline_share needs a change rule on products or sources")
        if self.kind == "change" and (self.window is None
                                      or parse_window(self.window)[0] != "rolling"):
            raise ValueError("a change rule needs a rolling window such as 10m")
        return self

    @property
    def window_or_default(self) -> str:
        return self.window or "5m"


class RulePack(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[Rule]

    @model_validator(mode="after")
    def _unique(self) -> RulePack:
        seen: set[str] = set()
        for r in self.rules:
            if r.id in seen:
                raise ValueError(f"rule id {r.id!r} appears twice")
            seen.add(r.id)
        return self

    @classmethod
    def load(cls, path: str | Path | None = None) -> RulePack:
        return load_yaml(path or DEFAULT_RULES, cls)

    def get(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)
