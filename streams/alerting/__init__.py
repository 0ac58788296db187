"""Glue that runs the alert engine: backtests, Redis-backed state and the Faust leader timer."""
