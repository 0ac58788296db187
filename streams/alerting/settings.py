"""AlertSettings: where the targets and rule files live, the timer interval (env ROOMPULSE_ALERTS_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROOMPULSE_ALERTS_", frozen=True, extra="ignore",
                                      env_file=None)

    targets: str | None = Field(None, description="targets YAML; unset = shipped defaults")
    rules: str | None = Field(None, description="rule YAML; unset = shipped default pack")
    interval_s: float = Field(1.0, gt=0, description="evaluation interval (leader timer)")
    max_gap_s: float = Field(30.0, gt=0, description="stream-time gap between evaluations after "
                             "which pending time restarts (downtime); raise it for fast clocks")
    key_prefix: str = Field("rp:alerts", min_length=1, description="Redis keys of alert state")

    def install_kwargs(self) -> dict:
        """Keyword arguments for `streams.alerting.install.install`."""
        return {"targets_path": self.targets, "rules_path": self.rules,
                "interval": self.interval_s, "key_prefix": self.key_prefix,
                "max_gap_ms": int(self.max_gap_s * 1000)}
