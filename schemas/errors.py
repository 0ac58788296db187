"""The root of every error `schemas` raises on purpose (decoding itself never raises)."""

from __future__ import annotations


class SchemaError(Exception):
    """An expected, user-facing failure of the schemas layer (e.g. exporting to a bad path)."""
