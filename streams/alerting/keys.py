"""Every Redis key of the alert runtime, from one prefix (ROOMPULSE_ALERTS_KEY_PREFIX)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "rp:alerts"


@dataclass(frozen=True, slots=True)
class AlertKeys:
    """Alert state lives under its own prefix, apart from the KPI keys (streams/kpi/keys.py)."""

    prefix: str = DEFAULT_PREFIX

    @property
    def series(self) -> str:
        """HASH fingerprint -> one alert series' lifecycle state (JSON)."""
        return f"{self.prefix}:series"

    @property
    def notified(self) -> str:
        """HASH: the notification log (what was sent, for dedup and repeat intervals)."""
        return f"{self.prefix}:notified"

    @property
    def silences(self) -> str:
        """HASH id -> silence (JSON)."""
        return f"{self.prefix}:silences"
