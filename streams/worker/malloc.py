"""Pin glibc's mmap threshold, so multi-MB fetch buffers go back to the OS when freed."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)
M_MMAP_THRESHOLD = -3  # <malloc.h>
ENV_OVERRIDES = ("MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")


def pin_mmap_threshold(kib: int) -> bool:
    """Serve allocations of `kib` KiB and more with mmap() for the rest of the process's life.

    glibc starts at 128 KiB but RAISES the threshold (up to 32 MiB) each time a larger mmapped
    block is freed. Fetch responses are several MiB each, so after the first few are freed every
    later one comes from the heap, where it fragments: a 10M-event bench run grew the worker by
    70-100 MB that way. Setting the threshold explicitly turns the raising off.
    Returns whether it was set: not on non-glibc systems, with `kib` 0, or when the environment
    already tunes malloc (MALLOC_MMAP_THRESHOLD_ / GLIBC_TUNABLES: the operator's choice wins).
    """
    if kib <= 0 or not sys.platform.startswith("linux"):
        return False
    if any(os.environ.get(name) for name in ENV_OVERRIDES):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, kib * 1024) != 1:
        log.warning("could not set malloc's mmap threshold to %d KiB; RSS may creep up", kib)
        return False
    return True
