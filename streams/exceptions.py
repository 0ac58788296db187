"""The root of every error `streams` raises on purpose; the CLI prints one as a single line."""

from __future__ import annotations


class StreamsError(Exception):
    """An expected, user-facing failure of the streams layer (stack, topics, start-up...)."""
