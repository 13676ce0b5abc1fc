"""PennyLane's queuing, one stack of recording contexts per thread.

PennyLane keeps the stack of active recording contexts (``QueuingManager._active_contexts``) in
one class attribute for the whole process, and ``QueuingManager.stop_recording`` swaps that
attribute for an empty list and back without any lock. ``AnnotatedQueue`` holds a process-wide
lock while it records, but ``stop_recording`` does not take it, so with threads:

- an operator created in one thread is queued into whatever context another thread has open,
  or dropped while another thread is inside ``stop_recording`` -- a circuit silently missing
  gates;
- a context that closes while another thread is inside ``stop_recording`` pops from the empty
  list and raises before releasing the lock, which then stays held by that thread for good:
  every later recording in the process waits forever. kvant's tests met this (a thread tracing
  a QNode for ``qjit`` while another ran a plain PennyLane QNode): four threads hung.

kvant compiles from any thread (compilations take turns and tracing state is per thread:
``kvant.api.qjit``), so at import it gives every thread its own stack: the class
attribute becomes a descriptor that returns the calling thread's list, and ``stop_recording``
swaps only the calling thread's (its code is replaced in place: PennyLane's modules made
decorators from it at import, which assigned the class attribute and so removed the
descriptor; a replaced method left them behind). Recording within one thread behaves as before.
"""

from __future__ import annotations

import threading

from pennylane.queuing import QueuingManager


class _ThreadContexts:
    """Read through the class (``cls._active_contexts``), the calling thread's stack."""

    def __init__(self, first_thread_stack: list):
        self._local = threading.local()
        self._local.stack = first_thread_stack

    def __get__(self, obj, owner=None) -> list:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def replace(self, stack: list) -> list:
        previous = self.__get__(None)
        self._local.stack = stack
        return previous


def _stop_recording(cls):
    # The code of PennyLane's own stop_recording generator is replaced by this one (install),
    # so that the context managers PennyLane made from it at import, as decorators, change too.
    # It runs with pennylane.queuing's globals, where install puts the per-thread stacks.
    previous = _kvant_thread_contexts.replace([])  # noqa: F821  (pennylane.queuing's global)
    try:
        yield
    finally:
        _kvant_thread_contexts.replace(previous)  # noqa: F821


def install() -> None:
    """Idempotent; the importing thread keeps the contexts it has open (normally none)."""
    import pennylane.queuing as queuing

    if isinstance(QueuingManager.__dict__.get("_active_contexts"), _ThreadContexts):
        return
    contexts = _ThreadContexts(list(QueuingManager.__dict__.get("_active_contexts", [])))
    # The generator function inside classmethod(contextmanager(...)): decorators made with
    # ``@QueuingManager.stop_recording()`` call it again on every use.
    generator = QueuingManager.__dict__["stop_recording"].__func__.__wrapped__
    queuing._kvant_thread_contexts = contexts
    generator.__code__ = _stop_recording.__code__
    QueuingManager._active_contexts = contexts
