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


#: lines of code AutoGraph generated -> the user's lines they were converted from:
#: (generated file, line) -> (file, line, column); filled by tracing.autograph
CONVERTED_LINES: dict = {}


def source_position(file_name: str, line: int, column: int = 0) -> tuple[str, int, int]:
    """The user's position of a frame: a line AutoGraph generated maps to the line it was
    converted from."""
    return CONVERTED_LINES.get((file_name, line), (file_name, line, column))


def user_location(source_info) -> str:
    """'file:line' of the user's code that created a JAX equation, or '' if unknown."""
    from jax._src import source_info_util

    frame = source_info_util.user_frame(source_info.traceback) if source_info else None
    if frame is None:
        return ""
    file_name, line, _ = source_position(frame.file_name, frame.start_line)
    return f"{file_name}:{line}"


def describe_value(value) -> str:
    """What a value the user's code produced is, in the user's terms: 'a float64[3] array
    computed from the arguments', "the string 'abc'", 'None', ... (never a JAX tracer's class)."""
    aval = getattr(value, "aval", None)
    if aval is not None and hasattr(aval, "shape") and hasattr(aval, "dtype"):
        import jax

        what = (
            f"a {aval.dtype} scalar"
            if aval.shape == ()
            else f"a {aval.dtype}{list(aval.shape)} array"
        )
        if isinstance(value, jax.core.Tracer):
            what += " computed from the arguments"
        return what
    if value is None:
        return "None"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, (tuple, list, dict)):
        return f"a {type(value).__name__} of {len(value)} item{'s' * (len(value) != 1)}"
    return (
        f"a {type(value).__module__}.{type(value).__qualname__}"
        if type(value).__module__ != "builtins"
        else f"a {type(value).__name__} ({value!r})"
    )
