"""Host callbacks: Python functions that compiled code calls while it runs.

``kvant_host_callback`` is the primitive ``kvant.pure_callback`` binds: its ``function`` (a
``HostFunction``) is called with the operands as arrays and returns the results, of the
shapes and dtypes the primitive declares. ``vjp`` is ``None`` or a ``CallbackVJP``: the
callback's ``fwd`` and ``bwd`` functions (``jax.custom_vjp``'s pair) traced to JAXPRs, which the
lowering turns into the ``fwd``/``bwd`` functions of ``host.callback`` (HostOps.td).

JAX's own ``pure_callback`` and ``debug_callback`` primitives (``jax.pure_callback``,
``jax.debug.print``, ``jax.debug.callback``) are lowered to the same op
(``lowering/rules/callbacks.py``). What runs them at run time is ``execution/host_callbacks.py``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from jax._src import core as jax_core
from jax.extend.core import Primitive


class HostFunction:
    """A Python function compiled code calls: ``call(*arrays) -> list of arrays`` (flat), with
    a name for messages. ``kind`` is "pure" (results returned to the program) or "debug" (no
    results; standard output is flushed after each call, so that its text lands in program
    order among the Python prints around the compiled call).

    Compared by identity: a program's table of host functions holds each object once."""

    def __init__(self, call, name: str, kind: str = "pure"):
        self.call = call
        self.name = name
        self.kind = kind

    def __repr__(self):
        return f"HostFunction({self.name!r})"

    def run(self, arrays, out_avals) -> list[np.ndarray]:
        """Call the function on ``arrays`` and return its results as contiguous arrays of
        ``out_avals``' shapes and dtypes (values castable within their kind are cast, as an int
        where a float is declared); anything else raises a ``TypeError`` naming the function."""
        outs = self.call(*arrays)
        if self.kind == "debug":
            sys.stdout.flush()
            return []
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        if len(outs) != len(out_avals):
            raise TypeError(
                f"the callback returned {len(outs)} value(s), its declared result has "
                f"{len(out_avals)}"
            )
        converted = []
        for k, (out, aval) in enumerate(zip(outs, out_avals)):
            array = np.asarray(out)
            want = np.dtype(aval.dtype)
            if array.shape != tuple(aval.shape) or not np.can_cast(
                array.dtype, want, casting="same_kind"
            ):
                raise TypeError(
                    f"the callback returned {array.dtype}{list(array.shape)} as result {k}, "
                    f"declared {want}{list(aval.shape)}"
                )
            converted.append(np.ascontiguousarray(array, dtype=want))
        return converted


@dataclass(frozen=True, eq=False)
class CallbackVJP:
    """A callback's derivative: ``fwd(*operands) -> (*results, *residuals)`` and
    ``bwd(*residuals, *result_cotangents) -> operand_cotangents`` as closed JAXPRs, with
    cotangents in kvant's convention (the conjugate of JAX's for complex values; the frontend's
    wrappers convert)."""

    fwd: Any
    bwd: Any


host_callback_p = Primitive("kvant_host_callback")
host_callback_p.multiple_results = True


@host_callback_p.def_abstract_eval
def _host_callback_abstract_eval(*avals, function, result_avals, vjp):
    del avals, function, vjp
    return [jax_core.ShapedArray(a.shape, a.dtype) for a in result_avals]


@host_callback_p.def_impl
def _host_callback_impl(*args, function, result_avals, vjp):
    del vjp
    return function.run(args, result_avals)


def _register_jax_refusal() -> None:
    """JAX's own differentiation of a callback inside qjit is refused by name, as for kvant's
    other primitives (tracing/primitives.py); kvant.grad uses the callback's fwd/bwd."""
    from jax._src.interpreters import ad

    from kvant.tracing.primitives import _refuse_jax_differentiation

    ad.primitive_jvps[host_callback_p] = _refuse_jax_differentiation(host_callback_p)


_register_jax_refusal()
