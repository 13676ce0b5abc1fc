"""Rules for the quantum primitives inside a QNode body, emitting the ``quantum`` dialect.

Qubits have value semantics in the dialect: every gate consumes qubit values and produces new
ones. ``QuantumState`` tracks the current value of each wire of the QNode's register, extracting
a qubit on first use and inserting all of them back before the register is released.

Ops are built with the classes generated from QuantumOps.td (``kvant.dialects.quantum``): result
types first, operands and attributes by their names in the ``.td`` file, so that a name changed
there fails here (a TypeError while lowering) instead of producing an op the dialect rejects.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith

from kvant.dialects import quantum
from kvant.errors import UnsupportedError
from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.registry import register

# Types and attributes the rules ask for again and again, per context (an entry keeps its context
# alive, so the context's id cannot be reused by another). Parsing a type costs ~70 µs and a
# 240-gate circuit asks ~500 times; the op classes would build a gate name's or a wire index's
# attribute anew for every op (~0.6 µs each through the bindings' attribute builders, a fifth of
# what building the op costs).
_CACHE: dict = {}


def _of_context() -> dict:
    context = ir.Context.current
    entry = _CACHE.get(id(context))
    if entry is None:
        entry = _CACHE[id(context)] = (context, {})
    return entry[1]


def _t(name: str) -> ir.Type:
    """!quantum.<name>."""
    cache = _of_context()
    if name not in cache:
        cache[name] = ir.Type.parse(f"!quantum.{name}")
    return cache[name]


def _i64(value: int) -> ir.IntegerAttr:
    cache = _of_context()
    key = ("i64", value)
    if key not in cache:
        cache[key] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)
    return cache[key]


def _str(text: str) -> ir.StringAttr:
    cache = _of_context()
    key = ("str", text)
    if key not in cache:
        cache[key] = ir.StringAttr.get(text)
    return cache[key]


def _extract(register: ir.Value, index) -> ir.Value:
    """A static index (int) is an attribute; a run-time one (i64 value) an operand."""
    if isinstance(index, int):
        return quantum.ExtractOp(_t("bit"), reg=register, idx_attr=_i64(index)).result
    return quantum.ExtractOp(_t("bit"), reg=register, idx=index).result


def _insert(register: ir.Value, index, qubit: ir.Value) -> ir.Value:
    if isinstance(index, int):
        return quantum.InsertOp(
            _t("reg"), in_reg=register, qubit=qubit, idx_attr=_i64(index)
        ).result
    return quantum.InsertOp(_t("reg"), in_reg=register, qubit=qubit, idx=index).result


class QuantumState:
    """The register of one QNode body being lowered."""

    def __init__(self, num_wires: int, register: ir.Value | None = None):
        self.num_wires = num_wires
        if register is None:
            register = quantum.AllocOp(_t("reg"), nqubits=num_wires).result
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
        quantum.DeallocOp(reg=self.flush())


def _state(ctx) -> QuantumState:
    if ctx.quantum is None:
        raise UnsupportedError(f"quantum operation '{ctx.eqn.primitive.name}' outside a QNode")
    return ctx.quantum


def _apply(ctx, name, params, matrix, wires, adjoint, ctrl_wires, ctrl_values):
    """Apply one gate. ``wires``/``ctrl_wires`` hold ints (static) or i64 values (run time)."""
    state = _state(ctx)
    all_wires = (*wires, *ctrl_wires)
    static = [w for w in all_wires if isinstance(w, int)]
    if len(set(static)) != len(static):
        raise ValueError(
            f"{name}: wires {list(wires)} and control wires {list(ctrl_wires)} overlap"
        )
    dynamic = len(static) != len(all_wires)
    if dynamic:
        # A run-time index may name any wire: the register must hold every qubit, and the
        # gate's qubits go back into it right after the gate.
        state.flush()
        qubits = [_extract(state.register, w) for w in all_wires]
    else:
        qubits = [state.qubit(w) for w in all_wires]
    values = []
    if ctrl_values:
        i1 = ir.IntegerType.get_signless(1)
        values = [b.scalar_constant(i1, int(v)) for v in ctrl_values]
    num_targets, bit = len(wires), _t("bit")
    out_qubits, out_ctrls = [bit] * num_targets, [bit] * len(ctrl_wires)
    targets, ctrls = qubits[:num_targets], qubits[num_targets:]
    if matrix is None:
        op = quantum.CustomOp(
            out_qubits,
            out_ctrls,
            params=params,
            in_qubits=targets,
            in_ctrl_qubits=ctrls,
            in_ctrl_values=values,
            gate_name=_str(name),
            adjoint=adjoint,
        )
    else:
        op = quantum.UnitaryOp(
            out_qubits,
            out_ctrls,
            matrix=matrix,
            in_qubits=targets,
            in_ctrl_qubits=ctrls,
            in_ctrl_values=values,
            adjoint=adjoint,
        )
    if dynamic:
        reg = state.register
        for wire, value in zip(all_wires, op.results):
            reg = _insert(reg, wire, value)
        state.register = reg
    else:
        state.qubits.update(zip(all_wires, op.results))
    return []


def _resolve_wires(wires, ctrl_wires, dynamic_operands):
    """Static ints stay; each ``None`` takes the next run-time wire operand (as i64)."""
    dynamic = iter(b.extract_scalar(v) for v in dynamic_operands)
    resolve = lambda ws: [w if w is not None else next(dynamic) for w in ws]
    return resolve(wires), resolve(ctrl_wires)


@register("kvant_gate")
def _gate(ctx, *operands, name, wires, adjoint, ctrl_wires, ctrl_values):
    num_dynamic = wires.count(None) + ctrl_wires.count(None)
    params = operands
    if num_dynamic:
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
        return quantum.NamedObsOp(obs, qubit=state.qubit(desc[2]), type_=_str(desc[1])).result
    if kind == "tensor":
        factors = [_observable(state, d, operands) for d in desc[1]]
        return quantum.TensorObsOp(obs, terms=factors).result
    if kind == "hermitian":
        qubits = [state.qubit(w) for w in desc[2]]
        return quantum.HermitianOp(obs, matrix=operands[desc[1]], qubits=qubits).result
    if kind == "hamiltonian":
        terms = [_observable(state, d, operands) for d in desc[2]]
        return quantum.HamiltonianOp(obs, coeffs=operands[desc[1]], terms=terms).result
    raise AssertionError(kind)


def _scalar_measurement(op_class):
    def rule(ctx, *operands, obs):
        state = _state(ctx)
        handle = _observable(state, obs, list(operands))
        return b.from_scalar(op_class(ir.F64Type.get(), obs=handle).result)

    return rule


register("kvant_expval")(_scalar_measurement(quantum.ExpvalOp))
register("kvant_var")(_scalar_measurement(quantum.VarOp))


@register("kvant_probs")
def _probs(ctx, *, wires):
    state = _state(ctx)
    qubits = [state.qubit(w) for w in wires]
    return quantum.ProbsOp(types.tensor_type(ctx.avals_out[0]), qubits=qubits).result


@register("kvant_state")
def _state_measurement(ctx, *, num_wires):
    state = _state(ctx)
    qubits = [state.qubit(w) for w in range(num_wires)]
    return quantum.StateOp(types.tensor_type(ctx.avals_out[0]), qubits=qubits).result


def _shots_measurement(op_class):
    def rule(ctx, *, wires, shots):
        state = _state(ctx)
        qubits = [state.qubit(w) for w in wires]
        return op_class(types.tensor_type(ctx.avals_out[0]), qubits=qubits, shots=shots).result

    return rule


register("kvant_sample")(_shots_measurement(quantum.SampleOp))
register("kvant_counts")(_shots_measurement(quantum.CountsOp))


@register("kvant_measure")
def _measure(ctx, *dynamic_wire, wire, reset, postselect):
    state = _state(ctx)
    if wire is None:
        # a run-time wire: measure out of the full register, as for gates on run-time wires
        index = b.extract_scalar(dynamic_wire[0])
        state.flush()
        qubit = _extract(state.register, index)
    else:
        qubit = state.qubit(wire)
    op = quantum.MeasureOp(
        ir.IntegerType.get_signless(1),
        _t("bit"),
        in_qubit=qubit,
        reset=reset,
        postselect=postselect,
    )
    outcome, new_qubit = op.results
    if wire is None:
        state.register = _insert(state.register, index, new_qubit)
    else:
        state.qubits[wire] = new_qubit
    # booleans are bytes in kvant's tensors
    return b.from_scalar(arith.ExtUIOp(ir.IntegerType.get_signless(8), outcome).result)


def _prepare(ctx, op_class, data: dict, wires):
    state = _state(ctx)
    qubits = [state.qubit(w) for w in wires]
    op = op_class([_t("bit")] * len(qubits), **data, in_qubits=qubits)
    for wire, value in zip(wires, op.results):
        state.qubits[wire] = value
    return []


@register("kvant_basis_state")
def _basis_state(ctx, bits, *, wires):
    return _prepare(ctx, quantum.BasisStateOp, {"bits": bits}, wires)


@register("kvant_state_prep")
def _state_prep(ctx, amplitudes, *, wires):
    return _prepare(ctx, quantum.StatePrepOp, {"amplitudes": amplitudes}, wires)
