"""Exceptions kvant raises to its users."""

from __future__ import annotations


class KvantError(Exception):
    """Base class of kvant's errors."""


class CompileError(KvantError):
    """The program could not be compiled (including a crash of the compiler itself)."""


class UnsupportedError(KvantError, NotImplementedError):
    """The program uses a feature kvant does not (yet) support."""


class KvantRuntimeError(KvantError, RuntimeError):
    """The compiled program failed while running (reported by the simulator runtime)."""


class CacheWarning(UserWarning):
    """kvant's disk cache held something it will not load, or could not be used as configured."""

def user_location(source_info) -> str:
    """'file:line' of the user's code that created a JAX equation, or '' if unknown."""
    from jax._src import source_info_util

    frame = source_info_util.user_frame(source_info.traceback) if source_info else None
    if frame is None:
        return ""
    return f"{frame.file_name}:{frame.start_line}"

