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
    ag_primitives.for_stmt = _for_stmt_with_fallbacks(ag_primitives, ag_primitives.for_stmt)

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

    # diagnostics name the user's lines, not the converted code's (errors.source_position)
    pennylane_transform = TRANSFORMER.transform

    @functools.wraps(pennylane_transform)
    def transform(obj, user_context):
        new_obj, module, source_map = pennylane_transform(obj, user_context)
        _record_lines(source_map)
        return new_obj, module, source_map

    TRANSFORMER.transform = transform
    if TRANSFORMER._extra_locals is not None:
        TRANSFORMER._extra_locals["ag__"].__dict__["converted_call"] = converted_call
        TRANSFORMER._extra_locals["ag__"].__dict__["for_stmt"] = ag_primitives.for_stmt
    _installed = True


def _for_stmt_with_fallbacks(ag_primitives, pennylane_for_stmt):
    """PennyLane's ``for_stmt`` (which becomes a compiled for loop), and while kvant traces:

    * a loop with ``break`` (AutoGraph's ``extra_test``, which PennyLane's does not take)
      becomes a compiled while loop whose condition is the range test and the break test;
    * an iteration target that is not an array (a list of strings, of operators, ...) is
      iterated by Python, unrolled, as Catalyst's AutoGraph does, with a warning.
    """

    @functools.wraps(pennylane_for_stmt)
    def for_stmt(target, extra_test, body_fn, get_state, set_state, symbol_names, opts):
        if not TracingContext.is_tracing():
            return pennylane_for_stmt(
                target, extra_test, body_fn, get_state, set_state, symbol_names, opts
            )
        items = _iteration_items(ag_primitives, target)
        if items is None:  # not an array: Python iterates it
            warnings.warn(
                f"AutoGraph cannot make a for loop over {type(target).__name__} "
                f"{_short(target)} a compiled loop (its items are not an array); it is "
                "unrolled as a Python loop",
                AutoGraphFallbackWarning,
                stacklevel=2,
            )
            return _python_for(list(target), extra_test, body_fn)
        if extra_test is None:
            return pennylane_for_stmt(
                target, extra_test, body_fn, get_state, set_state, symbol_names, opts
            )
        return _for_with_break(
            ag_primitives, items, extra_test, body_fn, get_state, set_state, symbol_names
        )

    return for_stmt


def _iteration_items(ag_primitives, target):
    """``(start, stop, step, item_of_index)`` for a range or an array-like target, None when
    the target's items are not an array."""
    import jax.numpy as jnp

    if isinstance(target, ag_primitives.PRange):
        start, stop, step = target.get_raw_range()
        return start, stop, step, lambda i: i
    offset, sequence = 0, target
    if isinstance(target, ag_primitives.PEnumerate):
        offset, sequence = target.start_idx, target.iteration_target
    try:
        array = jnp.asarray(sequence)
    except Exception:  # whatever JAX refuses to make an array of
        return None
    if isinstance(target, ag_primitives.PEnumerate):
        return 0, len(array), 1, lambda i: (i + offset, array[i])
    return 0, len(array), 1, lambda i: array[i]


def _python_for(items, extra_test, body_fn):
    for item in items:
        if extra_test is not None and not _concrete_test(extra_test()):
            break
        body_fn(item)


def _concrete_test(value) -> bool:
    import jax

    if isinstance(value, jax.core.Tracer):
        raise UnsupportedError(
            "AutoGraph: a `break` decided by a value computed at run time, in a for loop "
            "over items that are not an array; loop over an array or a range instead"
        )
    return bool(value)


def _for_with_break(ag_primitives, items, extra_test, body_fn, get_state, set_state, symbol_names):
    """``for x in ...: ...; if c: break`` as ``while in_range and not broken``."""
    import jax.numpy as jnp
    import pennylane as qml

    start, stop, step, item = items
    init = get_state()
    ag_primitives._assert_iteration_inputs(init, symbol_names)

    def in_range(i):
        return i < stop if not isinstance(step, int) or step > 0 else i > stop

    def cond(carry):
        i, state = carry
        set_state(state)
        return jnp.logical_and(in_range(i), extra_test())

    def body(carry):
        i, state = carry
        set_state(state)
        body_fn(item(i))
        return i + step, tuple(get_state())

    _, final = qml.while_loop(cond)(body)((jnp.asarray(start), tuple(init)))
    set_state(final)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _record_lines(source_map) -> None:
    from kvant.errors import CONVERTED_LINES

    for generated, origin in (source_map or {}).items():
        loc = getattr(origin, "loc", None)
        if loc is not None:
            CONVERTED_LINES[(generated.filename, generated.lineno)] = (
                loc.filename,
                loc.lineno,
                max(loc.col_offset, 0),
            )


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
