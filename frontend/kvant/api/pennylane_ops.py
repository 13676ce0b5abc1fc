"""The rest of PennyLane's ``ops`` interface: ``adjoint``, ``ctrl``, ``measure`` and the
differentiation functions PennyLane forwards to the active compiler (the control flow lives in
``api.control_flow``).

``adjoint`` and ``ctrl`` of an operator (or an operator class) build PennyLane operators, which
the QNode capture emits; of any other quantum function, inside a QNode that kvant traces, they
trace the function once and re-emit it inverted or controlled (``tracing.quantum_regions``), so
loops and conditionals inside it are transformed too.
"""

from __future__ import annotations

import functools
import inspect

import pennylane as qml
from pennylane.ops.op_math.adjoint import create_adjoint_op
from pennylane.ops.op_math.controlled import create_controlled_op

from kvant.tracing import quantum_regions
from kvant.tracing.qnode import (
    QuantumScope,
    current_scope,
    measure,  # noqa: F401  (mid-circuit measurement)
)


def _is_operator(fn) -> bool:
    return isinstance(fn, qml.operation.Operator) or (
        inspect.isclass(fn) and issubclass(fn, qml.operation.Operator)
    )


def _kvants(wrapper):
    """``wrapper`` (made with functools.wraps, which copies the user function's ``__module__``)
    marked as kvant's code again: AutoGraph (qjit(autograph=True)) decides by the module whether
    to convert a function it calls, and converting kvant's wrapper turned its own checks into
    compiled conditionals. The function it wraps is converted by AutoGraph's own wrapper."""
    wrapper.__module__ = __name__
    return wrapper


def adjoint(fn, lazy=True):
    """The inverse of an operator, or a function applying the inverse of ``fn``'s operations."""
    if _is_operator(fn) or not callable(fn):
        return create_adjoint_op(fn, lazy)

    @functools.wraps(fn)
    def inverted(*args, **kwargs):
        scope = current_scope()
        if not isinstance(scope, QuantumScope):
            # not tracing a QNode body (eager, or building a transformed QNode's tape, whose
            # queue PennyLane's adjoint fills): PennyLane's own adjoint
            return create_adjoint_op(fn, lazy)(*args, **kwargs)
        jaxpr, operands = quantum_regions.trace_quantum_function(fn, args, kwargs, scope, "adjoint")
        quantum_regions.emit_adjoint(jaxpr, operands)
        return None

    return _kvants(inverted)


def ctrl(op, control, control_values=None, work_wires=None, work_wire_type="borrowed"):
    """``op`` controlled on the wires ``control`` being in ``control_values`` (all 1 by
    default)."""
    pennylanes = functools.partial(
        create_controlled_op,
        op,
        control,
        control_values=control_values,
        work_wires=work_wires,
        work_wire_type=work_wire_type,
    )
    if _is_operator(op) or not callable(op):
        return pennylanes()

    @functools.wraps(op)
    def controlled(*args, **kwargs):
        if not isinstance(current_scope(), QuantumScope):  # as in adjoint
            return pennylanes()(*args, **kwargs)
        scope = current_scope()
        wires = qml.wires.Wires(control)
        values = (
            [True] * len(wires)
            if control_values is None
            else (
                [control_values]
                if len(wires) == 1 and not isinstance(control_values, (list, tuple))
                else list(control_values)
            )
        )
        if len(values) != len(wires):
            raise ValueError(f"ctrl: {len(wires)} control wires but {len(values)} control values")
        for v in values:
            if v not in (0, 1, True, False):
                raise ValueError(f"ctrl: a control value must be 0 or 1, got {v!r}")
        controls = [scope.wire_index(w) for w in wires]
        jaxpr, operands = quantum_regions.trace_quantum_function(op, args, kwargs, scope, "ctrl")
        quantum_regions.emit_controlled(jaxpr, operands, controls, values)
        return None

    return _kvants(controlled)


from kvant.api.differentiation import jvp, value_and_grad, vjp  # noqa: E402,F401
