"""Process-wide tuning the KPI loop needs: GC, malloc, gzip decoding, aiokafka's log repeats."""

from __future__ import annotations

from streams.ingest.prepare import tune_gc
from streams.worker.broker_watch import throttle_aiokafka_logs
from streams.worker.gzipdecode import use_fast_gzip_decode
from streams.worker.malloc import pin_mmap_threshold


def tune_process(mmap_threshold_kib: int) -> None:
    """Idempotent; each step explains itself where it is defined.

    - `tune_gc`: a batch allocates ~100k short-lived objects; default GC thresholds doubled the
      cost per event.
    - `pin_mmap_threshold`: multi-MB fetch buffers must go back to the OS when freed, or RSS
      creeps up over a long run.
    - `use_fast_gzip_decode`: aiokafka's GzipFile reader costs ~0.3 µs per event.
    - `throttle_aiokafka_logs`: a dead broker makes aiokafka log ~75 lines a second.
    """
    throttle_aiokafka_logs()
    tune_gc()
    pin_mmap_threshold(mmap_threshold_kib)
    use_fast_gzip_decode()
