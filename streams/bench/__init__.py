"""The benchmark: the batched worker against a per-event Faust baseline."""
