"""``kvant.debug``: printing and inspecting values while compiled code runs.

``kvant.debug.print(fmt, *args, **kwargs)`` is ``jax.debug.print``: inside ``qjit`` it prints
``fmt.format(*args, **kwargs)`` with the values of the run, when the compiled code reaches it,
in program order (standard output is flushed after each, so the text lands among the Python
prints around the call where it belongs); outside, it prints at once. ``kvant.debug.callback``
is ``jax.debug.callback``: ``fn(*args)`` for its effects, its result ignored. Both compile to
``host.callback`` (``lowering/rules/callbacks.py``).
"""

from __future__ import annotations

import builtins

import jax


def print(fmt: str, *args, ordered: bool = False, **kwargs) -> None:
    """Print ``fmt.format(*args, **kwargs)`` with the values of the run (``jax.debug.print``)."""
    jax.debug.print(fmt, *args, ordered=ordered, **kwargs)


def callback(fn, *args, ordered: bool = False, **kwargs) -> None:
    """Call ``fn(*args, **kwargs)`` with the values of the run, for its effects
    (``jax.debug.callback``)."""
    if not builtins.callable(fn):
        raise TypeError(f"kvant.debug.callback needs a callable, got {type(fn).__name__}")
    jax.debug.callback(fn, *args, ordered=ordered, **kwargs)
