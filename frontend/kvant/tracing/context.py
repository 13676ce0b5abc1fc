"""Whether kvant is tracing a program right now.

PennyLane asks ``TracingContext.is_tracing()`` (through the ``kvant.context`` entry point) to
decide whether ``qml.grad``, ``qml.for_loop``, ... dispatch to kvant. While kvant traces, a QNode
call is captured as a ``kvant_qnode`` primitive instead of being executed by PennyLane.
"""

from __future__ import annotations

import contextlib
import threading

import jax
import pennylane as qml

_state = threading.local()


class TracingContext:
    """The ``kvant.context`` entry point of PennyLane's compiler interface."""

    @staticmethod
    def is_tracing() -> bool:
        return getattr(_state, "depth", 0) > 0

    @staticmethod
    @contextlib.contextmanager
    def tracing():
        """Mark the current thread as tracing, and capture QNode calls, for the block."""
        from kvant.tracing.control_flow import LAX_REPLACEMENTS  # circular at import time
        from kvant.tracing.qnode import capture_qnode_call

        depth = getattr(_state, "depth", 0)
        original_call = qml.QNode.__call__
        original_lax = {name: getattr(jax.lax, name) for name in LAX_REPLACEMENTS}
        if depth == 0:
            # PennyLane 0.45 offers no hook for a compiler to take over QNode calls, so the method
            # is swapped for the duration of the trace only; likewise jax.lax's loops and cond,
            # which route to kvant's regions when called inside a QNode.
            qml.QNode.__call__ = capture_qnode_call
            for name, replacement in LAX_REPLACEMENTS.items():
                setattr(jax.lax, name, replacement)
        _state.depth = depth + 1
        try:
            yield
        finally:
            _state.depth = depth
            if depth == 0:
                qml.QNode.__call__ = original_call
                for name, original in original_lax.items():
                    setattr(jax.lax, name, original)
