"""Messages between the compiler client and its worker process: tagged, length-prefixed pickles.

A frame is ``MAGIC + 8-byte little-endian length + pickle``. The reader skips whatever precedes
the tag: a ``sitecustomize`` or a C library that prints on the worker's stdout before the worker
takes the stream over must not be read as a length (an 8-byte text read as a length made the
client try to allocate petabytes). Reads and writes take a deadline, so a stopped or hung peer
ends in ``TimeoutError`` rather than blocking forever.

This module imports only the standard library: the worker loads it by path, without importing
the ``kvant`` package (which imports JAX and PennyLane).
"""

from __future__ import annotations

import errno
import os
import pickle
import select
import struct
import time

MAGIC = b"\xffKVANT\xfe\x00"
_LENGTH = struct.Struct("<Q")
# No reply or request comes near this (a 2,000-gate program's bytecode is ~1 MB); a larger length
# means the stream is corrupt.
MAX_FRAME = 1 << 32
# Waits are cut into slices so that a signal handler (Ctrl-C) runs promptly even when a signal
# does not interrupt poll() in this thread.
_SLICE = 0.2


class ProtocolError(Exception):
    """The peer's bytes are not a frame of this protocol."""


def encode(message) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return MAGIC + _LENGTH.pack(len(data)) + data


def _remaining(deadline):
    if deadline is None:
        return _SLICE
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return min(left, _SLICE)


def _wait(fd: int, event: int, deadline) -> None:
    poller = select.poll()
    poller.register(fd, event | select.POLLHUP | select.POLLERR)
    while not poller.poll(_remaining(deadline) * 1000):
        pass


def send(fd: int, message, deadline: float | None = None) -> None:
    """Write one frame to ``fd`` (blocking or not) before ``deadline`` (``time.monotonic()``)."""
    view = memoryview(encode(message))
    while view:
        _wait(fd, select.POLLOUT, deadline)
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        view = view[written:]


class FrameReader:
    """Reads frames from a file descriptor; bytes outside frames are kept in ``stray``."""

    def __init__(self, fd: int):
        self.fd = fd
        self._buffer = bytearray()
        self.stray = bytearray()

    def _fill(self, deadline) -> None:
        _wait(self.fd, select.POLLIN, deadline)
        try:
            chunk = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EINTR:
                return
            raise
        if not chunk:
            raise EOFError("the other end closed the pipe")
        self._buffer += chunk

    def receive(self, deadline: float | None = None):
        """The next message; ``TimeoutError`` after ``deadline``, ``EOFError`` at end of stream."""
        while True:
            start = self._buffer.find(MAGIC)
            if start < 0:
                # keep a tail that may be the beginning of a tag split across reads
                keep = len(MAGIC) - 1
                if len(self._buffer) > keep:
                    self.stray += self._buffer[:-keep]
                    del self._buffer[:-keep]
                self._fill(deadline)
                continue
            if start:
                self.stray += self._buffer[:start]
                del self._buffer[:start]
            header = len(MAGIC) + _LENGTH.size
            while len(self._buffer) < header:
                self._fill(deadline)
            (size,) = _LENGTH.unpack_from(self._buffer, len(MAGIC))
            if size > MAX_FRAME:
                raise ProtocolError(f"a frame of {size} bytes announced: the stream is corrupt")
            while len(self._buffer) < header + size:
                self._fill(deadline)
            data = bytes(self._buffer[header : header + size])
            del self._buffer[: header + size]
            return pickle.loads(data)
