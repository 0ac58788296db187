"""gzip decoding of Kafka record batches in one zlib call instead of aiokafka's GzipFile reader."""

from __future__ import annotations

import zlib

_GZIP_ONLY = 16 + zlib.MAX_WBITS  # a gzip header is required, as GzipFile requires it


def gzip_decode(payload: bytes) -> bytes:
    """What `aiokafka.codec.gzip_decode` returns, for a fraction of the CPU.

    aiokafka reads every compressed batch through `gzip.GzipFile` (a Python-level reader:
    ~19 µs for a 40-record batch here, ~0.3 µs per event of the worker's ~6); a decompress
    object does the same work in C (~10 µs). Concatenated gzip members are all decoded, as
    GzipFile does; a truncated member raises EOFError and a corrupt one zlib.error (GzipFile
    raises EOFError / OSError) - either way the batch fails loudly, never half-decoded.
    """
    parts = []
    data = payload
    while True:
        d = zlib.decompressobj(_GZIP_ONLY)
        parts.append(d.decompress(data))
        if not d.eof:
            if not data and len(parts) == 1:
                return b""  # GzipFile reads an empty payload as empty
            raise EOFError("compressed record batch ended before the end-of-stream marker")
        data = d.unused_data
        if not data:
            return parts[0] if len(parts) == 1 else b"".join(parts)


def use_fast_gzip_decode() -> bool:
    """Make aiokafka's record readers (C and Python) decode gzip with `gzip_decode`.

    Process-wide: every aiokafka consumer in the process (the KPI loop's and Faust's) reads
    gzip batches through it; the result is byte-for-byte the same. Returns False when the
    aiokafka internals it replaces are missing (then nothing is changed).
    """
    import aiokafka.record.default_records as py_records

    modules = [py_records]
    try:
        import aiokafka.record._crecords.default_records as c_records
    except ImportError:  # pure-Python install
        pass
    else:
        modules.append(c_records)
    if not all(hasattr(m, "gzip_decode") for m in modules):
        return False
    for m in modules:
        m.gzip_decode = gzip_decode
    return True
