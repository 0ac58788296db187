"""Process-wide tuning the KPI loop needs: GC, malloc, gzip decoding, aiokafka's log repeats."""

from __future__ import annotations

import sys

from streams.ingest.prepare import tune_gc
from streams.worker.broker_watch import throttle_aiokafka_logs
from streams.worker.gzipdecode import use_fast_gzip_decode
from streams.worker.malloc import pin_mmap_threshold


def tune_process(mmap_threshold_kib: int, switch_interval_ms: float = 0.0) -> None:
    """Idempotent; each step explains itself where it is defined.

    - `tune_gc`: a batch allocates ~100k short-lived objects; default GC thresholds doubled the
      cost per event.
    - `pin_mmap_threshold`: multi-MB fetch buffers must go back to the OS when freed, or RSS
      creeps up over a long run.
    - `use_fast_gzip_decode`: aiokafka's GzipFile reader costs ~0.3 µs per event.
    - `throttle_aiokafka_logs`: a dead broker makes aiokafka log ~75 lines a second.
    - the GIL switch interval: the event loop gives up the GIL at every socket call and zlib
      inflate, and each time waits up to one interval to get it back from a busy thread (the
      prepare thread, the /metrics renderer); at CPython's 5 ms, a few dozen such waits in a
      row held /healthz for hundreds of ms (roompulse_worker_loop_stalls_total named the spots).
    """
    throttle_aiokafka_logs()
    tune_gc()
    pin_mmap_threshold(mmap_threshold_kib)
    use_fast_gzip_decode()
    if switch_interval_ms > 0:
        sys.setswitchinterval(switch_interval_ms / 1000)
