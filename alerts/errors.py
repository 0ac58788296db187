"""The root of every error `alerts` raises on purpose; the CLI prints one as a single line."""

from __future__ import annotations


class AlertsError(Exception):
    """An expected, user-facing failure of the alerts layer (config files, sinks, silences)."""
