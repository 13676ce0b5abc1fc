"""``qjit(autograph=True)``: PennyLane's AutoGraph, running on kvant's control flow.

PennyLane's AutoGraph (``pennylane.capture.autograph``, on the diastatic-malt converter) rewrites
a function's Python ``if``/``for``/``while`` into calls of its runtime functions (``if_stmt``,
``for_stmt``, ``while_stmt``), which build ``qml.cond`` / ``qml.for_loop`` / ``qml.while_loop``;
while kvant traces, PennyLane hands those to kvant's (the ``kvant.ops`` entry point). The
conversion -- source analysis, which variables a statement updates, calls of converted functions
and QNodes -- is PennyLane's.

One runtime function assumes PennyLane's own program capture: ``_call_pennylane_for`` passes the
loop-carried variables to ``qml.for_loop`` as separate values and expects a tuple back, while a
compiler's ``for_loop`` (kvant's, as Catalyst's) returns one carried value bare and none as
``None``. While kvant traces, the variables travel as one tuple instead, as PennyLane's while
loop already carries them; otherwise PennyLane's function runs unchanged. And kvant's own modules
join PennyLane's, JAX's and Catalyst's on AutoGraph's do-not-convert list: a user's call of
``kvant.grad`` or ``kvant.for_loop`` runs kvant's code as written -- and, as PennyLane does for
``qml.grad`` and its relatives, the function such a call is given is converted when it is called.
"""

from __future__ import annotations

import functools
import warnings

from kvant.errors import UnsupportedError
from kvant.tracing.context import TracingContext

_installed = False


class AutoGraphFallbackWarning(UserWarning):
    """A loop AutoGraph could not compile ran as a Python loop (unrolled while tracing)."""


def convert(fn):
    """``fn`` converted by PennyLane's AutoGraph (functions and QNodes it calls are converted
    when called)."""
    try:
        from pennylane.capture.autograph import ag_primitives, run_autograph
    except ImportError as exc:  # pragma: no cover - PennyLane without AutoGraph's converter
        raise UnsupportedError(
            "kvant.qjit(autograph=True) needs PennyLane's AutoGraph (pennylane.capture."
            f"autograph and the diastatic-malt package): {exc}"
        ) from exc
    _install(ag_primitives)
    return run_autograph(fn)


def _install(ag_primitives) -> None:
    global _installed
    if _installed:
        return
    from malt.core import config as ag_config

    ag_primitives.module_allowlist = (
        ag_config.DoNotConvert("kvant"),
        *ag_primitives.module_allowlist,
    )
    pennylane_for = ag_primitives._call_pennylane_for

    @functools.wraps(pennylane_for)
    def call_for(
        start,
        stop,
        step,
        body_fn,
        get_state,
        set_state,
        symbol_names,
        enum_start=None,
        array_iterable=None,
    ):
        if not TracingContext.is_tracing():
            return pennylane_for(
                start,
                stop,
                step,
                body_fn,
                get_state,
                set_state,
                symbol_names,
                enum_start,
                array_iterable,
            )
        import pennylane as qml

        init = get_state()

        @qml.for_loop(start, stop, step)
        def functional_for(i, state):
            set_state(state)
            if enum_start is None and array_iterable is None:
                body_fn(i)  # for i in range(...)
            elif enum_start is None:
                body_fn(array_iterable[i])  # for x in array
            else:
                body_fn((i + enum_start, array_iterable[i]))  # for i, x in enumerate(array)
            return get_state()

        try:
            ag_primitives._assert_iteration_inputs(init, symbol_names)
            final = functional_for(tuple(init))
        except Exception as exc:
            if not all(isinstance(v, int) for v in (start, stop, step)):
                raise
            # As Catalyst's AutoGraph does: a loop over a range or a sequence known while
            # tracing, whose body cannot be a compiled loop (a Python list grows in it, a
            # Python value changes type, ...), runs as the Python loop it was (unrolled into
            # the program), with a warning; the failed attempt leaves nothing behind.
            warnings.warn(
                "AutoGraph could not make this for loop a compiled loop; it is unrolled as a "
                f"Python loop of {len(range(start, stop, step))} iterations instead "
                f"({type(exc).__name__}: {exc})",
                AutoGraphFallbackWarning,
                stacklevel=3,  # the converted user function's loop
            )
            set_state(tuple(init))
            for i in range(start, stop, step):
                if enum_start is None and array_iterable is None:
                    body_fn(i)
                elif enum_start is None:
                    body_fn(array_iterable[i])
                else:
                    body_fn((i + enum_start, array_iterable[i]))
            return get_state()
        ag_primitives._assert_iteration_results(init, final, symbol_names)
        return final

    ag_primitives._call_pennylane_for = call_for

    pennylane_converted_call = ag_primitives.converted_call

    @functools.wraps(pennylane_converted_call)
    def converted_call(fn, args, kwargs, caller_fn_scope=None, options=None):
        if _takes_a_function(fn) and args and callable(args[0]) and not _is_operator(args[0]):
            inner = args[0]

            @functools.wraps(inner)
            def converted_inner(*a, **k):
                return ag_primitives.converted_call(inner, a, k, caller_fn_scope, options)

            return fn(converted_inner, *args[1:], **(kwargs or {}))
        return pennylane_converted_call(fn, args, kwargs, caller_fn_scope, options)

    ag_primitives.converted_call = converted_call
    # The converted code finds the runtime functions in a namespace the converter fills from
    # ag_primitives once, at its first conversion, which may have happened before this.
    from pennylane.capture.autograph.transformer import TRANSFORMER

    if TRANSFORMER._extra_locals is not None:
        TRANSFORMER._extra_locals["ag__"].__dict__["converted_call"] = converted_call
    _installed = True


def _takes_a_function(fn) -> bool:
    """kvant's transformations of a function (its derivatives, adjoint and control)."""
    import kvant

    return any(
        fn is f
        for f in (
            kvant.grad,
            kvant.jacobian,
            kvant.value_and_grad,
            kvant.vjp,
            kvant.jvp,
            kvant.adjoint,
            kvant.ctrl,
        )
    )


def _is_operator(value) -> bool:
    import pennylane as qml

    return isinstance(value, qml.operation.Operator)
