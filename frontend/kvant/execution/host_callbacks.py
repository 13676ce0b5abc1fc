"""Running the host callbacks of a compiled program while it runs.

A program names each host function by its number in the program's table (built by the lowering,
``lowering/rules/callbacks.py``). Around each call of a program that has such functions, its
caller installs, on its thread, this module's dispatcher with a context standing for the call
(``kvant_rt_set_host_dispatch``, runtime.h), and restores what was installed before (a callback
may itself call a compiled program). The compiled code calls ``kvant_rt_host_callback``, which
calls the dispatcher; ctypes takes the GIL for it (the program itself runs without it).

The dispatcher never lets an exception through to the compiled code: it keeps the first one
(with the function's name) in the call's context and returns failure, which the runtime records
as its sticky error; the program runs to its end without calling the host again, and the
caller raises the kept exception as a ``KvantRuntimeError`` naming the function.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import threading

import numpy as np

_DISPATCH = ctypes.CFUNCTYPE(
    ctypes.c_int32,
    ctypes.c_void_p,
    ctypes.c_int64,
    ctypes.c_int64,
    ctypes.POINTER(ctypes.c_void_p),
    ctypes.c_int64,
    ctypes.POINTER(ctypes.c_void_p),
)


class HostCall:
    """One call of a program: its table of host functions and the first failure among them."""

    def __init__(self, table):
        self.table = table
        self.failure: tuple[str, BaseException] | None = None


# context number -> HostCall, for the calls in progress (of every thread)
_calls: dict[int, HostCall] = {}
_numbers = itertools.count(1)
_calls_lock = threading.Lock()


def _read(address: int, aval) -> np.ndarray:
    """A copy of the array of ``aval``'s shape and dtype at ``address`` (the program frees its
    buffer after the call; the function may keep what it is given)."""
    dtype = np.dtype(aval.dtype)
    shape = tuple(aval.shape)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size == 0:
        return np.zeros(shape, dtype)
    raw = (ctypes.c_char * size).from_address(address)
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _dispatch(context, number, num_args, args, num_results, results) -> int:
    call = _calls.get(context)
    if call is None:  # not installed by call_with (never expected)
        return 1
    name = f"host callback {number}"
    try:
        from kvant.execution.library import to_jax

        function, in_avals, out_avals = call.table[number]
        name = function.name
        if num_args != len(in_avals) or num_results != len(out_avals):
            raise RuntimeError(
                f"the program passed {num_args} argument(s) and {num_results} result buffer(s) "
                f"to a function of {len(in_avals)} and {len(out_avals)} (a kvant bug)"
            )
        arrays = [to_jax(_read(args[i], aval)) for i, aval in enumerate(in_avals)]
        outs = function.run(arrays, out_avals)
        for i, out in enumerate(outs):
            if out.nbytes:
                ctypes.memmove(results[i], out.ctypes.data, out.nbytes)
        return 0
    except BaseException as exc:  # nothing may unwind into compiled code
        if call.failure is None:
            call.failure = (name, exc)
        return 1


_dispatch_function = _DISPATCH(_dispatch)  # alive as long as the module


@functools.cache
def _set_dispatch():
    from kvant.execution.library import runtime

    fn = runtime().kvant_rt_set_host_dispatch
    fn.restype = None
    fn.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_void_p),
    ]
    return fn


@contextlib.contextmanager
def installed(table):
    """Install ``table`` (the program's host functions, each ``(HostFunction, in_avals,
    out_avals)``) for the calls of compiled code on this thread inside the ``with`` block;
    yields the ``HostCall`` that records a failure."""
    call = HostCall(table)
    with _calls_lock:
        number = next(_numbers)
        _calls[number] = call
    set_dispatch = _set_dispatch()
    previous, previous_context = ctypes.c_void_p(), ctypes.c_void_p()
    set_dispatch(
        ctypes.cast(_dispatch_function, ctypes.c_void_p),
        ctypes.c_void_p(number),
        ctypes.byref(previous),
        ctypes.byref(previous_context),
    )
    try:
        yield call
    finally:
        set_dispatch(previous, previous_context, None, None)
        with _calls_lock:
            del _calls[number]


def describe_failure(call: HostCall) -> tuple[str, BaseException] | None:
    """(message, exception) for a call whose host function failed, else ``None``."""
    if call.failure is None:
        return None
    name, exc = call.failure
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"the host callback '{name}' failed while the compiled program ran: {text}", exc
