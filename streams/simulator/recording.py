"""Recording files written by the simulator, in the format of streams/recordings.py."""

from __future__ import annotations

from typing import BinaryIO

from streams.recordings import encode_line
from streams.simulator.generate import Message


def line_for(msg: Message) -> bytes:
    return encode_line(msg.key, msg.value, msg.expect)


def write_line(out: BinaryIO, msg: Message) -> None:
    out.write(line_for(msg))
