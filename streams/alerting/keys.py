"""Every Redis key of the alert runtime, from one prefix (ROOMPULSE_ALERTS_KEY_PREFIX)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "rp:alerts"


@dataclass(frozen=True, slots=True)
class AlertKeys:
    """Alert state lives under its own prefix, apart from the KPI keys (streams/kpi/keys.py).

    No hash tag: each key is one hash and no command or script touches two of them, so on a
    Redis Cluster they may sit on different masters (redis_state.py)."""

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
