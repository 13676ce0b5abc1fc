"""Rules for the quantum primitives inside a QNode body, emitting the ``quantum`` dialect.

Qubits have value semantics in the dialect: every gate consumes qubit values and produces new
ones. ``QuantumState`` tracks the current value of each wire of the QNode's register, extracting
a qubit on first use and inserting all of them back before the register is released.
"""

from __future__ import annotations

from mlir import ir

from kvant.errors import UnsupportedError
from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.registry import register

_TYPES: dict = {}


def _t(name):
    """!quantum.<name> in the current context. Parsing a type costs ~70 µs and a 240-gate
    circuit asks ~500 times: cache per context (the entry keeps the context alive, so its id
    cannot be reused by another)."""
    context = ir.Context.current
    _, types_of_context = _TYPES.setdefault(id(context), (context, {}))
    if name not in types_of_context:
        types_of_context[name] = ir.Type.parse(f"!quantum.{name}")
    return types_of_context[name]


def _i64_attr(v):
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(v))


def _segments(*sizes):
    return ir.DenseI32ArrayAttr.get(list(sizes))


def _index_operands(index):
    """A static index (int) is an attribute; a run-time one (i64 value) an operand."""
    if isinstance(index, int):
        return [], {"idx_attr": _i64_attr(index)}
    return [index], {}


def _extract(register: ir.Value, index) -> ir.Value:
    operands, attributes = _index_operands(index)
    return ir.Operation.create(
        "quantum.extract",
        results=[_t("bit")],
        operands=[register] + operands,
        attributes=attributes,
    ).result


def _insert(register: ir.Value, index, qubit: ir.Value) -> ir.Value:
    operands, attributes = _index_operands(index)
    return ir.Operation.create(
        "quantum.insert",
        results=[_t("reg")],
        operands=[register] + operands + [qubit],
        attributes=attributes,
    ).result


class QuantumState:
    """The register of one QNode body being lowered."""

    def __init__(self, num_wires: int, register: ir.Value | None = None):
        self.num_wires = num_wires
        if register is None:
            register = ir.Operation.create(
                "quantum.alloc", results=[_t("reg")], attributes={"nqubits": _i64_attr(num_wires)}
            ).result
        self.register = register
        self.qubits: dict[int, ir.Value] = {}

    def qubit(self, wire: int) -> ir.Value:
        if not 0 <= wire < self.num_wires:
            raise ValueError(
                f"wire {wire} is out of range for a register of {self.num_wires} wires"
            )
        if wire not in self.qubits:
            self.qubits[wire] = _extract(self.register, wire)
        return self.qubits[wire]

    def flush(self) -> ir.Value:
        """Insert every extracted qubit back; return the register, now the whole state.

        Control-flow regions take and give back the register alone, so qubit values never
        cross a region boundary.
        """
        reg = self.register
        for wire, qubit in sorted(self.qubits.items()):
            reg = _insert(reg, wire, qubit)
        self.register = reg
        self.qubits.clear()
        return reg

    def release(self):
        ir.Operation.create("quantum.dealloc", results=[], operands=[self.flush()])


def _state(ctx) -> QuantumState:
    if ctx.quantum is None:
        raise UnsupportedError(f"quantum operation '{ctx.eqn.primitive.name}' outside a QNode")
    return ctx.quantum


def _apply(ctx, name, params, matrix, wires, adjoint, ctrl_wires, ctrl_values):
    """Apply one gate. ``wires``/``ctrl_wires`` hold ints (static) or i64 values (run time)."""
    state = _state(ctx)
    static = [w for w in list(wires) + list(ctrl_wires) if isinstance(w, int)]
    if len(set(static)) != len(static):
        raise ValueError(
            f"{name}: wires {list(wires)} and control wires {list(ctrl_wires)} overlap"
        )
    dynamic = len(static) != len(wires) + len(ctrl_wires)
    if dynamic:
        # A run-time index may name any wire: the register must hold every qubit, and the
        # gate's qubits go back into it right after the gate.
        state.flush()
        qubits = [_extract(state.register, w) for w in wires]
        ctrls = [_extract(state.register, w) for w in ctrl_wires]
    else:
        qubits = [state.qubit(w) for w in wires]
        ctrls = [state.qubit(w) for w in ctrl_wires]
    i1 = ir.IntegerType.get_signless(1)
    values = [b.scalar_constant(i1, int(v)) for v in ctrl_values]
    attributes = {
        "operandSegmentSizes": _segments(
            len(params) if matrix is None else 1, len(qubits), len(ctrls), len(values)
        ),
        "resultSegmentSizes": _segments(len(qubits), len(ctrls)),
    }
    if adjoint:
        attributes["adjoint"] = ir.UnitAttr.get()
    if matrix is None:
        attributes["gate_name"] = ir.StringAttr.get(name)
        op_name, first = "quantum.custom", params
    else:
        op_name, first = "quantum.unitary", [matrix]
    op = ir.Operation.create(
        op_name,
        results=[_t("bit")] * (len(qubits) + len(ctrls)),
        operands=first + qubits + ctrls + values,
        attributes=attributes,
    )
    if dynamic:
        reg = state.register
        for wire, value in zip(list(wires) + list(ctrl_wires), op.results):
            reg = _insert(reg, wire, value)
        state.register = reg
    else:
        for wire, value in zip(list(wires) + list(ctrl_wires), op.results):
            state.qubits[wire] = value
    return []


def _resolve_wires(wires, ctrl_wires, dynamic_operands):
    """Static ints stay; each ``None`` takes the next run-time wire operand (as i64)."""
    dynamic = iter(b.extract_scalar(v) for v in dynamic_operands)
    resolve = lambda ws: [w if w is not None else next(dynamic) for w in ws]
    return resolve(wires), resolve(ctrl_wires)


@register("kvant_gate")
def _gate(ctx, *operands, name, wires, adjoint, ctrl_wires, ctrl_values):
    num_dynamic = sum(w is None for w in wires + ctrl_wires)
    params = operands[: len(operands) - num_dynamic]
    wires, ctrl_wires = _resolve_wires(wires, ctrl_wires, operands[len(params) :])
    scalars = [b.extract_scalar(p) for p in params]
    return _apply(ctx, name, scalars, None, wires, adjoint, ctrl_wires, ctrl_values)


@register("kvant_unitary")
def _unitary(ctx, matrix, *dynamic, wires, adjoint, ctrl_wires, ctrl_values):
    wires, ctrl_wires = _resolve_wires(wires, ctrl_wires, dynamic)
    return _apply(ctx, "QubitUnitary", [], matrix, wires, adjoint, ctrl_wires, ctrl_values)


def _observable(state, desc, operands) -> ir.Value:
    kind = desc[0]
    obs = _t("obs")
    if kind == "named":
        return ir.Operation.create(
            "quantum.namedobs",
            results=[obs],
            operands=[state.qubit(desc[2])],
            attributes={"type": ir.StringAttr.get(desc[1])},
        ).result
    if kind == "tensor":
        factors = [_observable(state, d, operands) for d in desc[1]]
        return ir.Operation.create("quantum.tensorobs", results=[obs], operands=factors).result
    if kind == "hermitian":
        qubits = [state.qubit(w) for w in desc[2]]
        return ir.Operation.create(
            "quantum.hermitian", results=[obs], operands=[operands[desc[1]]] + qubits
        ).result
    if kind == "hamiltonian":
        terms = [_observable(state, d, operands) for d in desc[2]]
        return ir.Operation.create(
            "quantum.hamiltonian", results=[obs], operands=[operands[desc[1]]] + terms
        ).result
    raise AssertionError(kind)


def _scalar_measurement(op_name):
    def rule(ctx, *operands, obs):
        state = _state(ctx)
        handle = _observable(state, obs, list(operands))
        value = ir.Operation.create(op_name, results=[ir.F64Type.get()], operands=[handle]).result
        return b.from_scalar(value)

    return rule


register("kvant_expval")(_scalar_measurement("quantum.expval"))
register("kvant_var")(_scalar_measurement("quantum.var"))


@register("kvant_probs")
def _probs(ctx, *, wires):
    state = _state(ctx)
    qubits = [state.qubit(w) for w in wires]
    return ir.Operation.create(
        "quantum.probs", results=[types.tensor_type(ctx.avals_out[0])], operands=qubits
    ).result


@register("kvant_state")
def _state_measurement(ctx, *, num_wires):
    state = _state(ctx)
    qubits = [state.qubit(w) for w in range(num_wires)]
    return ir.Operation.create(
        "quantum.state", results=[types.tensor_type(ctx.avals_out[0])], operands=qubits
    ).result


def _shots_attr(shots):
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), shots)


def _shots_measurement(op_name):
    def rule(ctx, *, wires, shots):
        state = _state(ctx)
        qubits = [state.qubit(w) for w in wires]
        return ir.Operation.create(
            op_name,
            results=[types.tensor_type(ctx.avals_out[0])],
            operands=qubits,
            attributes={"shots": _shots_attr(shots)},
        ).result

    return rule


register("kvant_sample")(_shots_measurement("quantum.sample"))
register("kvant_counts")(_shots_measurement("quantum.counts"))


@register("kvant_measure")
def _measure(ctx, *dynamic_wire, wire, reset, postselect):
    state = _state(ctx)
    attributes = {}
    if reset:
        attributes["reset"] = ir.UnitAttr.get()
    if postselect is not None:
        attributes["postselect"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), postselect)
    if wire is None:
        # a run-time wire: measure out of the full register, as for gates on run-time wires
        index = b.extract_scalar(dynamic_wire[0])
        state.flush()
        qubit = _extract(state.register, index)
    else:
        qubit = state.qubit(wire)
    op = ir.Operation.create(
        "quantum.measure",
        results=[ir.IntegerType.get_signless(1), _t("bit")],
        operands=[qubit],
        attributes=attributes,
    )
    outcome, new_qubit = op.results
    if wire is None:
        state.register = _insert(state.register, index, new_qubit)
    else:
        state.qubits[wire] = new_qubit
    # booleans are bytes in kvant's tensors
    byte = ir.Operation.create(
        "arith.extui", results=[ir.IntegerType.get_signless(8)], operands=[outcome]
    ).result
    return b.from_scalar(byte)


def _prepare(ctx, op_name, data, wires):
    state = _state(ctx)
    qubits = [state.qubit(w) for w in wires]
    op = ir.Operation.create(op_name, results=[_t("bit")] * len(qubits), operands=[data] + qubits)
    for wire, value in zip(wires, op.results):
        state.qubits[wire] = value
    return []


@register("kvant_basis_state")
def _basis_state(ctx, bits, *, wires):
    return _prepare(ctx, "quantum.basis_state", bits, wires)


@register("kvant_state_prep")
def _state_prep(ctx, amplitudes, *, wires):
    return _prepare(ctx, "quantum.state_prep", amplitudes, wires)
