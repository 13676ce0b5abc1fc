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
import numpy as np
import pennylane as qml
from jax.tree_util import tree_flatten, tree_unflatten
from pennylane.measurements import (
    CountsMP,
    ExpectationMP,
    MeasurementProcess,
    ProbabilityMP,
    SampleMP,
    StateMP,
    VarianceMP,
)

from kvant.errors import UnsupportedError, describe_value
from kvant.tracing import deferred as deferred_measurements
from kvant.tracing import (
    device_support,
    distributed,
    grad_recipes,
    mcm,
    mcm_statistics,
    observables,
    outcome_arithmetic,
    trainable_observables,
)
from kvant.tracing.gate_table import GATES
from kvant.tracing.primitives import (
    basis_state_p,
    counts_p,
    expval_p,
    gate_p,
    measure_p,
    probs_p,
    qnode_p,
    sample_p,
    state_p,
    state_prep_p,
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

    def __init__(
        self,
        name: str,
        wire_index,
        num_wires: int | None,
        shots: int | None,
        wire_labels=(),
        one_shot: bool = False,
        rewrite=None,
        mcm_method: str | None = None,
    ):
        self.name = name
        # the mcm_method the QNode asks for (mcm.requested_method): how the statistics of
        # mid-circuit measurement values are taken (tracing.mcm_statistics)
        self.mcm_method = mcm_method
        # the results of the measure equations traced so far, in order
        self.outcomes: list = []
        # PennyLane transforms applied to each batch of gates before it is emitted
        # (transforms.segment_rewriter), or None
        self.rewrite = rewrite
        # One execution of a one-shot QNode: statistics are left to the loop over shots, so a
        # variance is recorded as the observable's single-shot value.
        self.one_shot = one_shot
        self.wire_index = wire_index
        # The register's wire labels in register order: the device's, or for a device without
        # fixed wires (num_wires None) the list that wire_index grows at each new label.
        self._wire_labels = wire_labels
        self._num_wires = num_wires
        # The register's size at each measurement of all its wires (qml.probs(), qml.state()):
        # a register that grew afterwards makes the QNode traced again (capture_rewritten_call)
        self.whole_register_sizes: list[int] = []
        self.shots = shots
        self._queues: list = []
        # Gates whose class has a grad_recipe of its own (tracing.grad_recipes)
        self.grad_recipe_gates: set[str] = set()
        # Whether anything acted on the register yet: a state preparation is the runtime's
        # "reset to this state" only as the circuit's first operation.
        self.started = False
        # Whether a mid-circuit measurement postselects: statistics are then conditioned
        # (tracing.deferred), which takes a variance of a sum as expectation values
        self.postselects = False
        # One execution of a one-shot QNode: postselecting measurements measure freely and
        # record whether the shot passed (``valid``); mcm.run_one_shot keeps the shots that
        # pass ('hw-like') or runs a failed shot again until it passes ('fill-shots'), so
        # outcomes measured before a postselection are conditioned on it
        self.free_postselection = False
        self.valid: list = []

    @property
    def wire_labels(self) -> tuple:
        return tuple(self._wire_labels)

    @property
    def num_wires(self) -> int:
        return len(self._wire_labels) if self._num_wires is None else self._num_wires

    @contextlib.contextmanager
    def region(self):
        """A queue of its own for the region traced inside the block."""
        with qml.queuing.AnnotatedQueue() as queue:
            self._queues.append(queue)
            try:
                yield queue
            finally:
                self._queues.pop()

    @contextlib.contextmanager
    def gates_as_written(self):
        """No rewriting inside the block: the gates of a region that ``ctrl`` controls are
        emitted as the user wrote them (a rewrite may change a gate batch's global phase, which
        a control turns into a relative one)."""
        rewrite, self.rewrite = self.rewrite, None
        try:
            yield
        finally:
            self.rewrite = rewrite

    def flush(self):
        """Emit, in order, the operations queued in the innermost region so far."""
        queue = self._queues[-1]
        queued = qml.tape.QuantumScript.from_queue(queue).operations
        # Decompositions create operators; they must not land in the queue, or the next flush
        # would apply them a second time.
        with qml.QueuingManager.stop_recording():
            operations = queued if self.rewrite is None else self.rewrite(queued)
            for op in operations:
                self.grad_recipe_gates |= grad_recipes.user_recipes(op)
                initial = not self.started and len(self._queues) == 1
                self.started = True
                _emit_operation(op, self.wire_index, adjoint=False, initial=initial)
        for op in queued:
            queue.remove(op)


def current_scope() -> QuantumScope | None:
    """The QNode being captured on this thread, if any."""
    stack = getattr(_scopes, "stack", None)
    return stack[-1] if stack else None


def _outcomes_so_far():
    scope = current_scope()  # a QNode body, or a transformed QNode's tape being built
    return scope.outcomes if isinstance(scope, QuantumScope) else None


# arithmetic on outcomes as PennyLane's MeasurementValue defines it (tracing.outcome_arithmetic)
outcome_arithmetic.install(_outcomes_so_far)


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
DIFF_METHODS = (
    "best",
    "adjoint",
    "parameter-shift",
    "finite-diff",
    "device",
    "spsa",
    "hadamard",
    None,
)


def capture_qnode_call(qnode: qml.QNode, *args, **kwargs):
    """Replacement for ``QNode.__call__`` while kvant traces: emit a ``kvant_qnode`` equation."""
    if qnode.compile_pipeline:  # PennyLane transforms applied to the QNode
        from kvant.tracing.transforms import capture_transformed_call

        return capture_transformed_call(
            qnode, args, kwargs, capture_qnode_call, capture_rewritten_call
        )
    return capture_rewritten_call(qnode, args, kwargs, rewrite=None)


def capture_rewritten_call(qnode: qml.QNode, args, kwargs, rewrite):
    """A QNode call captured with ``rewrite`` (or None) applied to each batch of its gates in
    place of its compile pipeline (``transforms.segment_rewriter``)."""
    device = qnode.device
    device_kind = device_support.device_kind(device, _name(qnode))
    # A device without fixed wires (wires=None) gets a register of the wires the circuit uses,
    # in the order of first use: PennyLane's order of a tape's wires (gates, mid-circuit
    # measurements, then terminal measurements), which orders probs, state and samples.
    dynamic_wires = device.wires is None
    shots = _shots(qnode)
    seed = getattr(device, "kvant_seed", None)
    if getattr(device, "kvant_mpi", False):
        distributed.request(_name(qnode), device.kvant_mpi)
    diff_method = qnode.diff_method
    if diff_method not in DIFF_METHODS:
        raise ValueError(f"QNode '{_name(qnode)}': unknown diff_method {diff_method!r}")

    wire_labels = [] if dynamic_wires else list(device.wires)

    def wire_index(label):
        if isinstance(label, jax.core.Tracer):
            if dynamic_wires:
                raise UnsupportedError(
                    f"QNode '{_name(qnode)}' uses a wire computed at run time on a device "
                    "without fixed wires (wires=None); kvant sizes such a register from the "
                    "wire labels while compiling: give the device its wires, e.g. "
                    "qml.device('lightning.qubit', wires=3)"
                )
            # A wire computed at run time (e.g. from a loop index): the register index itself.
            return label
        if dynamic_wires and label not in wire_labels:
            wire_labels.append(label)
        try:
            return wire_labels.index(label)
        except ValueError:
            raise ValueError(
                f"QNode '{_name(qnode)}' uses wire {label!r}, which is not on its device "
                f"(wires {wire_labels})"
            ) from None

    arg_leaves, in_tree = tree_flatten((args, kwargs))
    # Python values (ints, strings, ...) stay static, as in a jax.jit with static arguments:
    # a layer count can drive a Python loop. Arrays and traced values become operands.
    is_dynamic = [
        isinstance(x, (jax.Array, np.ndarray, np.generic, jax.core.Tracer)) for x in arg_leaves
    ]
    flat_args = [x for x, d in zip(arg_leaves, is_dynamic) if d]
    # Filled while tracing: where each measurement's value goes in the QNode's return value,
    # and the structure of those values (counts are dicts, known only once emitted).
    output = {}
    requested = mcm.requested_method(qnode, shots)
    total_shots = shots
    # one-shot postselection: failed shots padded ('hw-like', PennyLane's default) or run
    # again until they pass ('fill-shots'), mcm.run_one_shot
    refill = (getattr(qnode, "execute_kwargs", {}) or {}).get("postselect_mode") == "fill-shots"

    def circuit(*flat, shots=shots, one_shot=False):
        operands = iter(flat)
        merged = [next(operands) if d else x for x, d in zip(arg_leaves, is_dynamic)]
        call_args, call_kwargs = tree_unflatten(in_tree, merged)
        scope = QuantumScope(
            _name(qnode),
            wire_index,
            None if dynamic_wires else len(wire_labels),
            shots,
            wire_labels,
            one_shot=one_shot,
            rewrite=rewrite,
            mcm_method=requested,
        )
        scope.free_postselection = one_shot
        with _entered(scope), scope.region() as queue:
            result = qnode.func(*call_args, **call_kwargs)
            scope.flush()
            if dynamic_wires:  # the measurements' wires next, in the order they were made
                for item in queue.queue:
                    # statistics of outcomes (mv set) measure no wire of the register
                    if isinstance(item, MeasurementProcess) and item.mv is None:
                        for w in item.wires:
                            wire_index(w)
        output["grad_recipe_gates"] = scope.grad_recipe_gates
        output["whole_register_sizes"] = scope.whole_register_sizes
        leaves, out_tree = tree_flatten(result, is_leaf=lambda x: isinstance(x, MeasurementProcess))
        values, kinds = [], []
        deferred = output["deferred"] = trainable_observables.DeferredOutputs()
        # a one-shot QNode (asked for, or the default with shots and mid-circuit measurements)
        # returns a classical value once per shot, as Catalyst does
        asked = (getattr(qnode, "execute_kwargs", {}) or {}).get("mcm_method")
        one_shot_run = requested == "one-shot" and (scope.outcomes or asked == "one-shot")
        per_shot = total_shots if one_shot_run and total_shots is not None else None
        for leaf in leaves:
            if isinstance(leaf, MeasurementProcess):
                value = _emit_measurement(leaf, scope)
                kind = (
                    value.kind
                    if isinstance(value, trainable_observables.Deferred)
                    else _MEASUREMENT_KINDS.get(type(leaf).__name__, "other")
                )
            else:
                value, kind = _classical_output(leaf, scope, per_shot), "other"
                if not isinstance(value, trainable_observables.Deferred):
                    output["returns_outcomes"] = True  # computed from mid-circuit outcomes
            values.append(deferred.add(len(values), value))
            kinds += [kind] * len(tree_flatten(values[-1])[0])  # counts: one per outcome
        output["kinds"] = tuple(kinds)
        flat_values, output["values"] = tree_flatten(values)
        output["places"] = tree_unflatten(out_tree, list(range(len(values)))) if values else None
        output["pads"] = bool(scope.valid)
        if scope.valid:  # whether the shot passed its postselections: run_one_shot's mask
            flat_values = [*flat_values, jnp.all(jnp.stack(scope.valid))]
        # coefficients of observables (trainable_observables), evaluated by the caller
        return flat_values + deferred.classical_outputs()

    jaxpr, consts = trace_subjaxpr(circuit, flat_args, name=_name(qnode))
    asked = (getattr(qnode, "execute_kwargs", {}) or {}).get("mcm_method")
    if output.get("returns_outcomes") and asked is None and requested == "deferred":
        # Returning an outcome itself (not a statistic) means one execution's branch: without
        # shots and without an mcm_method, such a program runs as single-branch statistics,
        # as under Catalyst (PennyLane's QNodes cannot return outcomes; the exact deferred
        # statistics have no value for them)
        requested = "single-branch-statistics"
        jaxpr, consts = trace_subjaxpr(circuit, flat_args, name=_name(qnode))
    if any(size < len(wire_labels) for size in output["whole_register_sizes"]):
        # a measurement of all wires came before a wire first used later (probs(), then an
        # observable on a new wire): traced again, the register now known whole
        jaxpr, consts = trace_subjaxpr(circuit, flat_args, name=_name(qnode))
    num_wires = len(wire_labels)
    deferred = output["deferred"]
    num_classical = len(deferred.classical_outputs())
    jaxpr, coefficients = trainable_observables.split_classical_outputs(
        jaxpr, num_classical, consts + flat_args, _name(qnode)
    )
    # whether PennyLane would apply them is the admissibility table's question (AutoMethod)
    grad_recipes.record(jaxpr, output["grad_recipe_gates"])
    if device_kind == device_support.NULL:  # its fixed values; the circuit is left out
        indices = tree_unflatten(output["values"], list(range(len(jaxpr.out_avals))))
        values = device_support.null_values(
            indices, output["kinds"], jaxpr.out_avals, shots, deferred.null_values(coefficients)
        )
        return (
            jax.tree_util.tree_map(lambda k: values[k], output["places"])
            if output["places"] is not None
            else None
        )

    def bind(jaxpr, consts, shots, seed, wires=num_wires, kinds=None):
        return qnode_p.bind(
            *consts,
            *flat_args,
            jaxpr=jaxpr,
            # the dialect's register holds at least one qubit: a device without wires gets one
            # that no operation touches (its state is that qubit's first amplitude)
            num_wires=max(wires, 1),
            device=device.name,
            diff_method=diff_method,
            shots=shots,
            seed=seed,
            name=_name(qnode),
            measurements=output["kinds"] if kinds is None else kinds,
        )

    method = mcm.method(qnode, jaxpr, shots, output["kinds"], requested)
    if method == "deferred":
        # Outcomes held coherently on ancilla wires after the device's: exact statistics.
        @contextlib.contextmanager
        def enter_scope(total_wires):
            scope = QuantumScope(_name(qnode), wire_index, total_wires, shots, wire_labels)
            with _entered(scope), scope.region():
                yield scope

        deferred_jaxpr, new_consts, ancillas, kinds, finish = deferred_measurements.transform(
            jaxpr, num_wires, enter_scope, output["kinds"], shots
        )
        outs = finish(
            bind(deferred_jaxpr, [*new_consts, *consts], shots, seed, num_wires + ancillas, kinds)
        )
    elif method == "one-shot":
        # Each shot is one execution with its own mid-circuit outcomes; the measurements are
        # recorded per shot and their statistics taken over the shots.
        def trace_one_shot():
            one, one_consts = trace_subjaxpr(
                lambda *f: circuit(*f, shots=1, one_shot=True), flat_args, name=_name(qnode)
            )
            one, _ = trainable_observables.split_classical_outputs(
                one, num_classical, one_consts + flat_args, _name(qnode)
            )
            return one, one_consts

        one_shot_kinds = output["kinds"]

        def bind_one_shot(jaxpr, consts, shots, seed):
            kinds = one_shot_kinds + (("other",) if output["pads"] else ())
            return bind(jaxpr, consts, shots, seed, kinds=kinds)

        outs = mcm.run_one_shot(
            trace_one_shot,
            bind_one_shot,
            shots,
            seed,
            one_shot_kinds,
            lambda: output["pads"],
            refill=refill,
        )
    else:
        outs = bind(jaxpr, consts, shots, seed)
    if output["places"] is None:
        return None
    values = deferred.complete(tree_unflatten(output["values"], outs), coefficients)
    return jax.tree_util.tree_map(lambda k: values[k], output["places"])


def _classical_output(leaf, scope: QuantumScope, per_shot: int | None):
    """A classical value the QNode returns (a mid-circuit measurement outcome, a number, an
    array computed from the arguments), as Catalyst returns it. A value that depends on
    mid-circuit outcomes (or on a loop or cond that acts on the state) stays an output of the
    circuit; any other is computed by the calling program (``trainable_observables.Deferred``),
    where classical AD differentiates it. ``per_shot``: the shots of a one-shot QNode, which
    returns the value once per shot."""
    if not isinstance(
        leaf, (jax.Array, np.ndarray, np.generic, jax.core.Tracer, bool, int, float, complex)
    ):
        raise TypeError(
            f"QNode '{scope.name}' returned {describe_value(leaf)}; a QNode returns measurements "
            "(qml.expval, qml.probs, ...), mid-circuit measurement outcomes and numbers or "
            "arrays"
        )
    value = jnp.asarray(leaf)
    if mcm_statistics.dependence(value, scope.outcomes).on_outcomes:
        return value

    def combine(measured, c):
        c = jnp.asarray(c)  # a number the QNode returns arrives as a Python value
        return c if per_shot is None else jnp.broadcast_to(c, (per_shot, *c.shape))

    return trainable_observables.Deferred([], value, combine, null=None)


#: the kind of measurement behind each QNode output (qnode_p's ``measurements``)
_MEASUREMENT_KINDS = {
    "ExpectationMP": "expval",
    "VarianceMP": "var",
    "ProbabilityMP": "probs",
    "SampleMP": "sample",
    "CountsMP": "counts",
    "StateMP": "state",
}


def _shots(qnode) -> int | None:
    shots = getattr(qnode, "shots", None)
    if shots is None or not shots.total_shots:
        return None
    if shots.has_partitioned_shots:
        raise UnsupportedError(f"QNode '{_name(qnode)}': shot vectors are not supported yet")
    return int(shots.total_shots)


def _name(qnode) -> str:
    return getattr(qnode.func, "__name__", "qnode")


def _emit_operation(op, wire_index, adjoint: bool, ctrl_wires=(), ctrl_values=(), initial=False):
    """Bind the primitives of one queued operation, decomposing what the runtime lacks.
    ``initial``: the circuit's first operation (where a state preparation may reset the
    register; later ones are decomposed into gates, as PennyLane's devices do)."""
    if isinstance(op, qml.ops.op_math.Adjoint):
        # adjoint(A B) = B† A†: flipping the flag is only right for one gate; a composite base
        # is decomposed first, and its parts are then emitted in reverse order.
        base = op.base
        # A controlled operation's adjoint is the controlled adjoint: the flag travels down to
        # the gate under the controls.
        if base.name in GATES or isinstance(base, (qml.QubitUnitary, qml.ops.op_math.Controlled)):
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
    if not all(isinstance(w, int) for w in wires + ctrl_wires) and _needs_decomposition(op):
        # Decomposed on stand-in labels for its run-time wires (a decomposition depends on
        # the wires' order only), its parts put back on the run-time wires.
        for part in (
            reversed(_decompose_on_runtime_wires(op))
            if adjoint
            else _decompose_on_runtime_wires(op)
        ):
            _emit_operation(part, wire_index, adjoint, ctrl_wires, ctrl_values)
        return None
    if op.name in GATES:
        nparams, nwires = GATES[op.name]
        if nwires != -1 and len(wires) != nwires:
            raise ValueError(f"{op.name} acts on {nwires} wires, got {len(wires)}")
        params = [_as_f64(p) for p in op.data]
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
    if (
        isinstance(op, (qml.BasisState, qml.StatePrep))
        and initial
        and not adjoint
        and not ctrl_wires
    ):
        if not all(isinstance(w, int) for w in wires):
            raise UnsupportedError(f"{op.name} on wires computed at run time is not supported")
        if isinstance(op, qml.BasisState):
            basis_state_p.bind(jnp.asarray(op.data[0]).astype(jnp.int8), wires=wires)
        else:
            state_prep_p.bind(jnp.asarray(op.data[0], dtype=jnp.complex128), wires=wires)
        return None
    if isinstance(op, qml.QubitUnitary):
        matrix = jnp.asarray(op.data[0], dtype=jnp.complex128)
        static_wires, static_ctrls, dynamic = _split_wires(wires, ctrl_wires)
        unitary_p.bind(
            matrix,
            *dynamic,
            wires=static_wires,
            adjoint=adjoint,
            ctrl_wires=static_ctrls,
            ctrl_values=ctrl_values,
        )
        return None
    parts = _decompose(op)
    for part in reversed(parts) if adjoint else parts:
        _emit_operation(part, wire_index, adjoint, ctrl_wires, ctrl_values)
    return None


def _as_f64(value):
    """A gate parameter as a float64 JAX value. Most already are (traced float64 scalars); the
    conversion is skipped for them, as it cost ~20 µs per gate in tracing."""
    if isinstance(value, jax.core.Tracer) and value.dtype == jnp.float64:
        return value
    return jnp.asarray(value, dtype=jnp.float64)


def _split_wires(wires, ctrl_wires):
    """Static wires stay primitive parameters; a run-time wire becomes ``None`` there and an
    int64 operand (in order, targets then controls)."""
    dynamic = [
        jnp.asarray(w, dtype=jnp.int64) for w in wires + ctrl_wires if not isinstance(w, int)
    ]
    static = lambda ws: tuple(w if isinstance(w, int) else None for w in ws)
    return static(wires), static(ctrl_wires), dynamic


def _needs_decomposition(op) -> bool:
    return op.name not in GATES and not isinstance(
        op, (qml.QubitUnitary, qml.ops.op_math.Adjoint, qml.ops.op_math.Controlled)
    )


def _decompose_on_runtime_wires(op):
    """``op``'s decomposition where some wires are traced values: computed on stand-in labels,
    then mapped back."""
    runtime = [w for w in op.wires if isinstance(w, jax.core.Tracer)]
    stand_ins = {w: f"kvant-run-time-wire-{k}" for k, w in enumerate(runtime)}
    back = {label: w for w, label in stand_ins.items()}
    with qml.QueuingManager.stop_recording():
        parts = _decompose(op.map_wires(stand_ins))
        return [part.map_wires(back) for part in parts]


def _decompose(op):
    try:
        with qml.QueuingManager.stop_recording():
            return op.decomposition()
    except Exception as exc:  # PennyLane raises DecompositionUndefinedError and others
        raise UnsupportedError(
            f"kvant cannot apply the operation {op.name}: the simulator has no kernel for it and "
            "PennyLane gives no decomposition"
        ) from exc


def _emit_measurement(mp: MeasurementProcess, scope: QuantumScope):
    """The value of one terminal measurement: exact without shots, estimated from samples of
    the simulator with shots (as on hardware)."""
    wire_index, num_wires, shots = scope.wire_index, scope.num_wires, scope.shots
    if getattr(mp, "mv", None) is not None:
        return mcm_statistics.emit(mp, scope)
    if isinstance(mp, (ExpectationMP, VarianceMP)):
        if mp.obs is None:
            raise UnsupportedError(f"{type(mp).__name__} without an observable is not supported")
        variance = isinstance(mp, VarianceMP)
        sum_variance = (
            variance
            and (shots is not None or scope.postselects)
            and isinstance(
                mp.obs, (qml.ops.Sum, qml.ops.SProd, qml.ops.LinearCombination, qml.ops.Prod)
            )
        )
        for w in mp.obs.wires:
            if isinstance(w, jax.core.Tracer):
                wire_index(w)  # refused on a device without fixed wires
        if trainable_observables.combined_in_caller(mp.obs) or sum_variance:
            # with shots, or conditioned on a postselection, Var H = <H²> - <H>² from the
            # expectation values of the Pauli words of H and H²
            return trainable_observables.measure(
                mp.obs, variance, lambda o: _expval(o, scope), scope.wire_labels
            )
        if shots is not None:
            # one execution of a one-shot QNode records the single-shot value; the variance is
            # taken over the shots
            return _sampled_statistic(mp.obs, scope, variance=variance and not scope.one_shot)
        desc, operands = observables.describe(mp.obs, wire_index)
        prim = expval_p if isinstance(mp, ExpectationMP) else var_p
        return prim.bind(*operands, obs=desc)
    if isinstance(mp, SampleMP) and mp.obs is not None:  # the observable's eigenvalues
        if shots is None:
            raise ValueError(
                f"sample needs shots: decorate the QNode with @qml.set_shots(n) "
                f"(QNode '{scope.name}')"
            )
        if isinstance(mp.obs, (qml.ops.Sum, qml.ops.LinearCombination)):
            raise UnsupportedError(
                "sample of a sum of observables is not supported (its terms "
                "need not share an eigenbasis); sample each term"
            )
        return _sampled_eigenvalues(mp.obs, scope)
    if isinstance(mp, (ProbabilityMP, SampleMP, CountsMP)) and mp.obs is not None:
        raise UnsupportedError(
            f"{type(mp).__name__} of an observable is not supported yet; measure wires instead"
        )
    if not mp.wires:
        scope.whole_register_sizes.append(num_wires)
    wires = tuple(range(num_wires)) if not mp.wires else tuple(wire_index(w) for w in mp.wires)
    if num_wires == 0:
        return _measure_no_wires(mp, scope)
    if not all(isinstance(w, int) for w in wires):
        return _on_run_time_wires(mp, wires, scope)
    if isinstance(mp, ProbabilityMP):
        if shots is None:
            return probs_p.bind(wires=wires)
        return counts_p.bind(wires=wires, shots=shots).astype(jnp.float64) / shots
    if isinstance(mp, (SampleMP, CountsMP)):
        if shots is None:
            raise ValueError(
                f"{type(mp).__name__[:-2].lower()} needs shots: decorate the QNode with "
                f"@qml.set_shots(n) (QNode '{scope.name}')"
            )
        if isinstance(mp, SampleMP):
            # (shots, wires) for any number of wires, one included (PennyLane 0.45)
            return sample_p.bind(wires=wires, shots=shots)
        counts = counts_p.bind(wires=wires, shots=shots)
        # PennyLane's dict of outcome bit strings (with every outcome, counted or not)
        return {format(k, f"0{len(wires)}b"): counts[k] for k in range(2 ** len(wires))}
    if isinstance(mp, StateMP) and type(mp).__name__ == "StateMP":
        return state_p.bind(num_wires=num_wires)
    raise UnsupportedError(f"kvant does not support the measurement {type(mp).__name__} yet")


def _on_run_time_wires(mp, wires, scope: QuantumScope):
    """probs, sample or counts of wires known only at run time (Catalyst's dynamic wires): the
    whole register measured, the wires' bits selected by the run-time indices. An index outside
    the register, or two equal ones, gives NaN probabilities (samples: -1)."""
    num_wires, shots = len(scope.wire_labels), scope.shots
    if not isinstance(mp, (ProbabilityMP, SampleMP, CountsMP)):
        raise UnsupportedError(
            f"kvant cannot measure {type(mp).__name__} on wires computed at run time"
        )
    index = jnp.stack([jnp.asarray(w, jnp.int64) for w in wires])
    k = len(wires)
    valid = jnp.all((index >= 0) & (index < num_wires))
    valid &= jnp.all(jnp.sum(index[:, None] == index[None, :], axis=1) == 1)
    safe = jnp.clip(index, 0, num_wires - 1)
    whole = tuple(range(num_wires))
    if isinstance(mp, ProbabilityMP) and shots is None:
        # the register's distribution is the QNode's output (so its derivative rules apply);
        # the caller sums it over the other wires with the run-time indices
        def marginal(measured, safe_and_valid):
            safe, valid = safe_and_valid[:-1], safe_and_valid[-1]
            # wire 0 is the most significant bit of an outcome, as in PennyLane
            outcomes = jnp.arange(2**num_wires, dtype=jnp.int64)
            bits = (outcomes[:, None] >> (num_wires - 1 - safe)[None, :]) & 1
            selected = jnp.sum(bits << jnp.arange(k - 1, -1, -1, dtype=jnp.int64), axis=1)
            summed = jnp.zeros(2**k, measured[0].dtype).at[selected].add(measured[0])
            return jnp.where(valid == 1, summed, jnp.nan)

        return trainable_observables.Deferred(
            [probs_p.bind(wires=whole)],
            jnp.concatenate([safe, valid.astype(jnp.int64)[None]]),
            marginal,
            null=np.zeros(2**k),
            kind="probs",
        )
    if shots is None:
        raise ValueError(
            f"{type(mp).__name__[:-2].lower()} needs shots: decorate the QNode with "
            f"@qml.set_shots(n) (QNode '{scope.name}')"
        )
    samples = sample_p.bind(wires=whole, shots=shots)[:, safe]
    if isinstance(mp, SampleMP):
        return jnp.where(valid, samples, -1)
    selected = jnp.sum(samples << jnp.arange(k - 1, -1, -1, dtype=samples.dtype), axis=1)
    counts = jnp.zeros(2**k, jnp.int64).at[selected].add(1)
    if isinstance(mp, ProbabilityMP):
        return jnp.where(valid, counts.astype(jnp.float64) / shots, jnp.nan)
    counts = jnp.where(valid, counts, 0)
    return {format(j, f"0{k}b"): counts[j] for j in range(2**k)}


def _measure_no_wires(mp, scope: QuantumScope):
    """Measurements of a device without wires: the state is one amplitude (a global phase),
    the distribution of no outcome bits is [1]."""
    if isinstance(mp, ProbabilityMP):  # a constant: completed outside the body, not measured
        return trainable_observables.Deferred(
            [], jnp.zeros(0), lambda e, c: jnp.ones(1), null=np.ones(1)
        )
    if isinstance(mp, StateMP) and type(mp).__name__ == "StateMP":
        return state_p.bind(num_wires=1)[:1]  # the untouched qubit stays in |0>
    raise ValueError(
        f"QNode '{scope.name}': {type(mp).__name__[:-2].lower()} of a device without wires has "
        "no outcomes to measure"
    )


def _expval(obs, scope: QuantumScope):
    """⟨obs⟩ of an observable without traced data: exact, or estimated from samples."""
    if scope.shots is not None:
        return _sampled_statistic(obs, scope, variance=False)
    desc, operands = observables.describe(obs, scope.wire_index)
    return expval_p.bind(*operands, obs=desc)


def _sampled_statistic(obs, scope: QuantumScope, variance: bool):
    """⟨O⟩ (or Var O) estimated from ``shots`` samples: rotate into O's eigenbasis, sample its
    wires, rotate back, and average O's eigenvalue of each sample. A sum is estimated term by
    term (as PennyLane does for non-commuting terms)."""
    if isinstance(obs, (qml.ops.Sum, qml.ops.SProd, qml.ops.LinearCombination)):
        if variance:
            raise UnsupportedError("var of a sum of observables with shots is not supported yet")
        coeffs, terms = obs.terms()
        return sum(
            jnp.asarray(c) * _sampled_statistic(t, scope, False) for c, t in zip(coeffs, terms)
        )
    if len(obs.wires) == 0:  # a constant I(): its value is exactly 1
        return jnp.asarray(0.0 if variance else 1.0)
    values = _sampled_eigenvalues(obs, scope)
    mean = jnp.mean(values)
    return jnp.mean(values**2) - mean**2 if variance else mean


def _sampled_eigenvalues(obs, scope: QuantumScope):
    """O's eigenvalue in each of ``shots`` samples (float64[shots]): rotate into O's
    eigenbasis, sample its wires, rotate back."""
    if len(obs.wires) == 0:
        return jnp.ones(scope.shots, jnp.float64)
    obs = observables.sampling_form(obs)
    wires = tuple(scope.wire_index(w) for w in obs.wires)
    if not all(isinstance(w, int) for w in wires):
        raise UnsupportedError(
            "sampling an observable on wires computed at run time is not supported yet"
        )
    with qml.QueuingManager.stop_recording():
        rotation = obs.diagonalizing_gates()
    for gate in rotation:
        _emit_operation(gate, scope.wire_index, adjoint=False)
    samples = sample_p.bind(wires=wires, shots=scope.shots)
    for gate in reversed(rotation):
        _emit_operation(gate, scope.wire_index, adjoint=True)
    # real, though PennyLane returns a Hermitian matrix's as complex
    eigenvalues = jnp.real(jnp.asarray(obs.eigvals())).astype(jnp.float64)
    index = samples @ (2 ** jnp.arange(len(wires) - 1, -1, -1))
    return eigenvalues[index]


def measure(wires, reset=False, postselect=None):
    """``qml.measure`` inside a QNode traced by kvant: the outcome as a boolean scalar, usable
    in ``qml.cond`` and in classical code."""
    scope = current_scope()
    if scope is None:
        raise UnsupportedError("qml.measure / kvant.measure is only available inside a QNode")
    wires = qml.wires.Wires(wires)
    if len(wires) != 1:
        raise ValueError(f"measure takes one wire, got {len(wires)}")
    if postselect not in (None, 0, 1):
        raise ValueError(f"postselect must be 0, 1 or None, got {postselect!r}")
    scope.flush()
    scope.started = True
    scope.postselects |= postselect is not None
    wire = scope.wire_index(wires[0])
    dynamic = [] if isinstance(wire, int) else [jnp.asarray(wire, dtype=jnp.int64)]
    free = scope.free_postselection and postselect is not None
    if free and len(scope._queues) > 1:
        raise UnsupportedError(
            f"QNode '{scope.name}': a postselecting measurement inside a loop or cond under "
            "mcm_method='one-shot' (whether a shot passes is decided at the QNode's top level); "
            "postselect outside the region, or use mcm_method='deferred' without shots"
        )
    outcome = measure_p.bind(
        *dynamic,
        wire=wire if isinstance(wire, int) else None,
        reset=bool(reset),
        postselect=None if postselect is None or free else int(postselect),
    )
    if free:
        scope.valid.append(outcome == bool(postselect))
    scope.outcomes.append(outcome)
    return outcome
