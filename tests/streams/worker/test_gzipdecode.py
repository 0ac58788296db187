"""gzip_decode equals aiokafka's GzipFile-based decoder, and fails loudly on broken input."""

from __future__ import annotations

import gzip
import zlib

import pytest
from aiokafka.codec import gzip_decode as aiokafka_gzip_decode
from hypothesis import given
from hypothesis import strategies as st

from streams.worker.gzipdecode import gzip_decode


@given(st.lists(st.binary(max_size=3000), min_size=1, max_size=3), st.integers(1, 9))
def test_same_bytes_as_aiokafka_for_one_or_more_members(chunks, level) -> None:
    payload = b"".join(gzip.compress(c, level) for c in chunks)
    assert gzip_decode(payload) == aiokafka_gzip_decode(payload) == b"".join(chunks)


def test_empty_payload_is_empty_as_in_aiokafka() -> None:
    assert gzip_decode(b"") == aiokafka_gzip_decode(b"") == b""


def test_truncated_batch_raises() -> None:
    payload = gzip.compress(b'{"type":"like"}' * 100)
    with pytest.raises(EOFError):
        aiokafka_gzip_decode(payload[:-12])
    with pytest.raises(EOFError):
        gzip_decode(payload[:-12])


def test_corrupt_batch_raises() -> None:
    payload = bytearray(gzip.compress(b'{"type":"like"}' * 100))
    payload[20:30] = b"\xff" * 10
    with pytest.raises((zlib.error, OSError, EOFError)):
        gzip_decode(bytes(payload))


def test_not_gzip_raises() -> None:
    with pytest.raises(zlib.error):
        gzip_decode(zlib.compress(b"plain zlib, no gzip header"))
