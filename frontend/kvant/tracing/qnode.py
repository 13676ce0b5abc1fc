"""Capture of a QNode call while kvant traces a program.

The QNode's quantum function runs once under PennyLane's queuing with JAX tracers as its
arguments; the queued operations become gate primitives and the measurements become
measurement primitives, all inside a sub-JAXPR that one ``kvant_qnode`` equation calls. The
classical code the quantum function runs (e.g. ``x ** 2`` feeding a rotation) lands in the same
sub-JAXPR, in front of the gates that use it.
"""

from __future__ import annotations

import contextlib
import threading

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

_scopes = threading.local()


class QuantumScope:
    """The QNode being captured: its wires, and the operations queued but not yet emitted.

    PennyLane queues an operation when it is created and may take it back (``qml.adjoint(op)``
    replaces ``op`` by its adjoint), so operations are emitted in batches: when the quantum
    function (or a control-flow region inside it) ends, and before a control-flow primitive is
    bound, so that everything queued before a loop is applied before the loop.
    """

    def __init__(self, name: str, wire_index, num_wires: int):
        self.name = name
        self.wire_index = wire_index
        self.num_wires = num_wires
        self._queues: list = []

    @contextlib.contextmanager
    def region(self):
        """A queue of its own for the region traced inside the block."""
        with qml.queuing.AnnotatedQueue() as queue:
            self._queues.append(queue)
            try:
                yield queue
            finally:
                self._queues.pop()

    def flush(self):
        """Emit, in order, the operations queued in the innermost region so far."""
        queue = self._queues[-1]
        operations = qml.tape.QuantumScript.from_queue(queue).operations
        for op in operations:
            _emit_operation(op, self.wire_index, adjoint=False)
        for op in operations:
            queue.remove(op)


def current_scope() -> QuantumScope | None:
    """The QNode being captured on this thread, if any."""
    stack = getattr(_scopes, "stack", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def _entered(scope: QuantumScope):
    stack = getattr(_scopes, "stack", None)
    if stack is None:
        stack = _scopes.stack = []
    stack.append(scope)
    try:
        yield scope
    finally:
        stack.pop()


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
        if isinstance(label, jax.core.Tracer):
            # A wire computed at run time (e.g. from a loop index): the register index itself.
            return label
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
        scope = QuantumScope(_name(qnode), wire_index, num_wires)
        with _entered(scope), scope.region():
            result = qnode.func(*call_args, **call_kwargs)
            scope.flush()
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
    if not all(isinstance(w, int) for w in wires + ctrl_wires):
        _require_flat_gate(op)
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
        static_wires, static_ctrls, dynamic = _split_wires(wires, ctrl_wires)
        gate_p.bind(
            *params,
            *dynamic,
            name=op.name,
            wires=static_wires,
            adjoint=adjoint,
            ctrl_wires=static_ctrls,
            ctrl_values=ctrl_values,
        )
        return None
    if isinstance(op, qml.QubitUnitary):
        matrix = jnp.asarray(op.data[0], dtype=jnp.complex128)
        static_wires, static_ctrls, dynamic = _split_wires(wires, ctrl_wires)
        unitary_p.bind(
            matrix, *dynamic, wires=static_wires, adjoint=adjoint, ctrl_wires=static_ctrls,
            ctrl_values=ctrl_values,
        )
        return None
    parts = _decompose(op)
    for part in reversed(parts) if adjoint else parts:
        _emit_operation(part, wire_index, adjoint, ctrl_wires, ctrl_values)
    return None


def _split_wires(wires, ctrl_wires):
    """Static wires stay primitive parameters; a run-time wire becomes ``None`` there and an
    int64 operand (in order, targets then controls)."""
    dynamic = [jnp.asarray(w, dtype=jnp.int64) for w in wires + ctrl_wires if not isinstance(w, int)]
    static = lambda ws: tuple(w if isinstance(w, int) else None for w in ws)  # noqa: E731
    return static(wires), static(ctrl_wires), dynamic


def _require_flat_gate(op):
    if op.name not in GATES and not isinstance(op, (qml.QubitUnitary, qml.ops.op_math.Adjoint,
                                                    qml.ops.op_math.Controlled)):
        raise UnsupportedError(
            f"{op.name} on wires computed at run time: kvant applies run-time wires only to gates "
            "of its simulator, not through decompositions"
        )


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
