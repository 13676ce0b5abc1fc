"""Capture of a QNode call while kvant traces a program.

The QNode's quantum function runs once under PennyLane's queuing with JAX tracers as its
arguments; the queued operations become gate primitives and the measurements become
measurement primitives, all inside a sub-JAXPR that one ``kvant_qnode`` equation calls. The
classical code the quantum function runs (e.g. ``x ** 2`` feeding a rotation) lands in the same
sub-JAXPR, in front of the gates that use it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pennylane as qml
from jax.tree_util import tree_flatten, tree_unflatten
from pennylane.measurements import (
    ExpectationMP,
    MeasurementProcess,
    ProbabilityMP,
    StateMP,
    VarianceMP,
)

from kvant.errors import UnsupportedError
from kvant.tracing import observables
from kvant.tracing.gate_table import GATES
from kvant.tracing.primitives import (
    expval_p,
    gate_p,
    probs_p,
    qnode_p,
    state_p,
    unitary_p,
    var_p,
)
from kvant.tracing.subjaxpr import trace_subjaxpr

#: diff_method values kvant understands; the derivative passes pick the rule from it.
DIFF_METHODS = ("best", "adjoint", "parameter-shift", "finite-diff", "device", "spsa", "hadamard", None)


def capture_qnode_call(qnode: qml.QNode, *args, **kwargs):
    """Replacement for ``QNode.__call__`` while kvant traces: emit a ``kvant_qnode`` equation."""
    device = qnode.device
    if device.wires is None:
        raise UnsupportedError(
            f"QNode '{_name(qnode)}': kvant needs a device with a fixed number of wires, "
            "e.g. qml.device('kvant.qubit', wires=2)"
        )
    shots = getattr(qnode, "shots", None) or getattr(device, "shots", None)
    if shots is not None and getattr(shots, "total_shots", None):
        raise UnsupportedError(
            f"QNode '{_name(qnode)}': finite shots are not supported yet; kvant computes exact "
            "expectation values"
        )
    diff_method = qnode.diff_method
    if diff_method not in DIFF_METHODS:
        raise ValueError(f"QNode '{_name(qnode)}': unknown diff_method {diff_method!r}")

    wire_labels = list(device.wires)
    num_wires = len(wire_labels)

    def wire_index(label):
        try:
            return wire_labels.index(label)
        except ValueError:
            raise ValueError(
                f"QNode '{_name(qnode)}' uses wire {label!r}, which is not on its device "
                f"(wires {wire_labels})"
            ) from None

    flat_args, in_tree = tree_flatten((args, kwargs))
    out_tree_box = []

    def circuit(*flat):
        call_args, call_kwargs = tree_unflatten(in_tree, flat)
        with qml.queuing.AnnotatedQueue() as queue:
            result = qnode.func(*call_args, **call_kwargs)
        tape = qml.tape.QuantumScript.from_queue(queue)
        for op in tape.operations:
            _emit_operation(op, wire_index, adjoint=False)
        leaves, out_tree = tree_flatten(
            result, is_leaf=lambda x: isinstance(x, MeasurementProcess)
        )
        out_tree_box.append(out_tree)
        values = []
        for leaf in leaves:
            if not isinstance(leaf, MeasurementProcess):
                raise TypeError(
                    f"QNode '{_name(qnode)}' must return measurements (qml.expval, qml.probs, "
                    f"...), not {type(leaf).__name__}"
                )
            values.append(_emit_measurement(leaf, wire_index, num_wires))
        return values

    jaxpr, consts = trace_subjaxpr(circuit, flat_args, name=_name(qnode))
    outs = qnode_p.bind(
        *consts,
        *flat_args,
        jaxpr=jaxpr,
        num_wires=num_wires,
        device=device.name,
        diff_method=diff_method,
        name=_name(qnode),
    )
    return tree_unflatten(out_tree_box[0], outs)


def _name(qnode) -> str:
    return getattr(qnode.func, "__name__", "qnode")


def _emit_operation(op, wire_index, adjoint: bool, ctrl_wires=(), ctrl_values=()):
    """Bind the primitives of one queued operation, decomposing what the runtime lacks."""
    if isinstance(op, qml.ops.op_math.Adjoint):
        # adjoint(A B) = B† A†: flipping the flag is only right for one gate; a composite base
        # is decomposed first, and its parts are then emitted in reverse order.
        base = op.base
        if base.name in GATES or isinstance(base, qml.QubitUnitary):
            return _emit_operation(base, wire_index, not adjoint, ctrl_wires, ctrl_values)
        for part in reversed(_decompose(base)):
            _emit_operation(part, wire_index, not adjoint, ctrl_wires, ctrl_values)
        return None
    if isinstance(op, qml.ops.op_math.Controlled) and op.name not in GATES:
        new_ctrls = tuple(wire_index(w) for w in op.control_wires)
        new_vals = tuple(bool(v) for v in op.control_values)
        return _emit_operation(
            op.base, wire_index, adjoint, ctrl_wires + new_ctrls, ctrl_values + new_vals
        )
    wires = tuple(wire_index(w) for w in op.wires)
    if op.name in GATES:
        nparams, nwires = GATES[op.name]
        if nwires != -1 and len(wires) != nwires:
            raise ValueError(f"{op.name} acts on {nwires} wires, got {len(wires)}")
        params = [jnp.asarray(p, dtype=jnp.float64) for p in op.data]
        for p in params:
            if p.shape != ():
                raise UnsupportedError(
                    f"{op.name}: parameter broadcasting (a parameter of shape {p.shape}) is not "
                    "supported; use kvant.vmap"
                )
        gate_p.bind(
            *params,
            name=op.name,
            wires=wires,
            adjoint=adjoint,
            ctrl_wires=ctrl_wires,
            ctrl_values=ctrl_values,
        )
        return None
    if isinstance(op, qml.QubitUnitary):
        matrix = jnp.asarray(op.data[0], dtype=jnp.complex128)
        unitary_p.bind(
            matrix, wires=wires, adjoint=adjoint, ctrl_wires=ctrl_wires, ctrl_values=ctrl_values
        )
        return None
    parts = _decompose(op)
    for part in reversed(parts) if adjoint else parts:
        _emit_operation(part, wire_index, adjoint, ctrl_wires, ctrl_values)
    return None


def _decompose(op):
    try:
        return op.decomposition()
    except Exception as exc:  # PennyLane raises DecompositionUndefinedError and others
        raise UnsupportedError(
            f"kvant cannot apply the operation {op.name}: the simulator has no kernel for it and "
            "PennyLane gives no decomposition"
        ) from exc


def _emit_measurement(mp: MeasurementProcess, wire_index, num_wires: int):
    if isinstance(mp, (ExpectationMP, VarianceMP)):
        if mp.obs is None:
            raise UnsupportedError(f"{type(mp).__name__} without an observable is not supported")
        desc, operands = observables.describe(mp.obs, wire_index)
        prim = expval_p if isinstance(mp, ExpectationMP) else var_p
        return prim.bind(*operands, obs=desc)
    if isinstance(mp, ProbabilityMP):
        if mp.obs is not None:
            raise UnsupportedError("qml.probs(op=...) is not supported yet; use qml.probs(wires=...)")
        wires = tuple(range(num_wires)) if not mp.wires else tuple(wire_index(w) for w in mp.wires)
        return probs_p.bind(wires=wires)
    if isinstance(mp, StateMP) and type(mp).__name__ == "StateMP":
        return state_p.bind(num_wires=num_wires)
    raise UnsupportedError(f"kvant does not support the measurement {type(mp).__name__} yet")
