"""The KPI worker: a Faust application whose hot path is a batched aiokafka loop."""
