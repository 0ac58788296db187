"""KPI core: event folding, bucketed Redis/in-memory state and KPI formulas (no Kafka here)."""
