"""``for_loop``, ``while_loop`` and ``cond``: compiled control flow.

Inside ``qjit`` each becomes one region of ``scf`` code, traced once, whatever the number of
iterations, and may hold gates when used inside a QNode. Outside ``qjit`` they run as ordinary
Python, so the same function can be checked without compiling.

    @kvant.for_loop(0, n, 1)
    def body(i, x):
        qml.RX(x * i, wires=0)
        return x + 1.0
    final_x = body(x0)

    @kvant.cond(x > 1.0)
    def branch():
        qml.RX(x, wires=0)
    @branch.else_if(x > 0.0)
    def branch():
        qml.RY(x, wires=0)
    @branch.otherwise
    def branch():
        qml.RZ(x, wires=0)
    branch()
"""

from __future__ import annotations

import functools

from kvant.tracing import control_flow
from kvant.tracing.context import TracingContext


def _unpack(state, n):
    if n == 0:
        return ()
    return (state,) if n == 1 else tuple(state)


def for_loop(lower, upper, step=1, allow_array_resizing=False):
    """``body(i, *state) -> state`` for ``i`` in ``range(lower, upper, step)``."""

    def decorator(body):
        @functools.wraps(body)
        def run(*init):
            if TracingContext.is_tracing():
                return control_flow.trace_for(lower, upper, step, body, init)
            state = init
            for i in range(int(lower), int(upper), int(step)):
                result = body(i, *state)
                state = _unpack(result, len(init))
            return None if not init else (state[0] if len(init) == 1 else state)

        return run

    return decorator


def while_loop(cond_fn, allow_array_resizing=False):
    """``state = body(*state)`` while ``cond_fn(*state)``."""

    def decorator(body):
        @functools.wraps(body)
        def run(*init):
            if TracingContext.is_tracing():
                return control_flow.trace_while(cond_fn, body, init)
            state = init
            while cond_fn(*state):
                state = _unpack(body(*state), len(init))
            return None if not init else (state[0] if len(init) == 1 else state)

        return run

    return decorator


class CondCallable:
    """A chain of branches; call it (with the branches' arguments, if any) to run one."""

    def __init__(self, predicate, fn):
        self._predicates = [predicate]
        self._branches = [fn]
        self._otherwise = None
        functools.update_wrapper(self, fn)

    def else_if(self, predicate):
        def decorator(fn):
            self._predicates.append(predicate)
            self._branches.append(fn)
            return self

        return decorator

    def otherwise(self, fn):
        self._otherwise = fn
        return self

    def __call__(self, *args, **kwargs):
        if TracingContext.is_tracing():
            return control_flow.trace_cond(
                self._predicates, self._branches, self._otherwise, args, kwargs
            )
        for predicate, fn in zip(self._predicates, self._branches):
            if predicate:
                return fn(*args, **kwargs)
        return self._otherwise(*args, **kwargs) if self._otherwise is not None else None


def cond(predicate, true_fn=None, false_fn=None, elifs=()):
    """``cond(pred)(fn)`` as a decorator; also ``cond(pred, true_fn, false_fn, elifs)``."""
    if true_fn is None:
        return lambda fn: CondCallable(predicate, fn)
    chain = CondCallable(predicate, true_fn)
    for pred, fn in elifs:
        chain.else_if(pred)(fn)
    if false_fn is not None:
        chain.otherwise(false_fn)
    return chain
