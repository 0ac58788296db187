"""The one ingest path: message bytes -> decode -> dedup -> limits -> time policy -> fold.

Pure CPU, no I/O: the live KPI loop (every input topic, control included), `roompulse backtest`
and `roompulse report --from-recording` all call `prepare`, so offline and live results cannot
diverge.
"""
