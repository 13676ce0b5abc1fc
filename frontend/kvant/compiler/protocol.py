"""Messages between the compiler client and its worker process: length-prefixed pickles."""

from __future__ import annotations

import pickle
import struct


def send(stream, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)))
    stream.write(data)
    stream.flush()


def receive(stream):
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("compiler worker closed its pipe")
    (size,) = struct.unpack("<Q", header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("compiler worker closed its pipe")
    return pickle.loads(data)
