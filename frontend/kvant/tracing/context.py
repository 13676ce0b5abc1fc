"""Whether kvant is tracing a program right now, in this thread.

PennyLane asks ``TracingContext.is_tracing()`` (through the ``kvant.context`` entry point) to
decide whether ``qml.grad``, ``qml.for_loop``, ... dispatch to kvant. While kvant traces, a QNode
call is captured as a ``kvant_qnode`` primitive instead of being executed by PennyLane.

PennyLane 0.45 offers no hook for a compiler to take over QNode calls, so ``QNode.__call__`` is
replaced while any thread traces; likewise ``jax.lax``'s loops and conditionals, which route to
kvant's regions when called inside a QNode. The replacements are installed once for the whole
process (counted: the first trace to start installs them, the last to end restores the
originals) and each one asks, on every call, whether *its own thread* is tracing: a thread that
is not gets the original behaviour, even while another thread traces.
"""

from __future__ import annotations

import contextlib
import functools
import threading

import jax
import pennylane as qml

_state = threading.local()
_install_lock = threading.Lock()
_tracing_threads = 0  # traces in progress, over all threads
_originals: dict[str, object] = {}  # what the installed dispatchers replaced


class TracingContext:
    """The ``kvant.context`` entry point of PennyLane's compiler interface."""

    @staticmethod
    def is_tracing() -> bool:
        return getattr(_state, "depth", 0) > 0

    @staticmethod
    @contextlib.contextmanager
    def tracing():
        """Mark the current thread as tracing, and capture its QNode calls, for the block."""
        depth = getattr(_state, "depth", 0)
        # PennyLane's program capture (qml.capture.enable()) turns gates and measurements into
        # PennyLane's own JAX primitives; kvant captures QNodes through the queue PennyLane
        # records operations on without it, so it is off while kvant traces (a global switch
        # of PennyLane's: a thread capturing a PennyLane program at the same moment sees it off)
        capture_was_on = depth == 0 and qml.capture.enabled()
        if capture_was_on:
            qml.capture.disable()
        if depth == 0:
            _acquire_dispatchers()
        _state.depth = depth + 1
        try:
            yield
        finally:
            _state.depth = depth
            if depth == 0:
                _release_dispatchers()
            if capture_was_on:
                qml.capture.enable()


def _dispatcher(original, replacement, *, method: bool):
    """``replacement`` in a thread that traces, ``original`` elsewhere."""
    if method:

        @functools.wraps(original)
        def dispatch(self, *args, **kwargs):
            if getattr(_state, "depth", 0) > 0:
                return replacement(self, *args, **kwargs)
            return original(self, *args, **kwargs)
    else:

        @functools.wraps(original)
        def dispatch(*args, **kwargs):
            if getattr(_state, "depth", 0) > 0:
                return replacement(*args, **kwargs)
            return original(*args, **kwargs)

    dispatch.__kvant_dispatcher__ = True
    return dispatch


def _acquire_dispatchers() -> None:
    global _tracing_threads
    from kvant.tracing.control_flow import LAX_REPLACEMENTS  # circular at import time
    from kvant.tracing.qnode import capture_qnode_call

    with _install_lock:
        if _tracing_threads == 0:
            _originals["QNode.__call__"] = qml.QNode.__call__
            qml.QNode.__call__ = _dispatcher(qml.QNode.__call__, capture_qnode_call, method=True)
            for name, replacement in LAX_REPLACEMENTS.items():
                _originals[name] = getattr(jax.lax, name)
                setattr(jax.lax, name, _dispatcher(_originals[name], replacement, method=False))
        _tracing_threads += 1


def _release_dispatchers() -> None:
    global _tracing_threads
    with _install_lock:
        _tracing_threads -= 1
        if _tracing_threads == 0:
            # Put back what was there, unless someone replaced the dispatcher meanwhile.
            if getattr(qml.QNode.__call__, "__kvant_dispatcher__", False):
                qml.QNode.__call__ = _originals["QNode.__call__"]
            for name, original in list(_originals.items()):
                if name != "QNode.__call__" and getattr(
                    getattr(jax.lax, name), "__kvant_dispatcher__", False
                ):
                    setattr(jax.lax, name, original)
            _originals.clear()
