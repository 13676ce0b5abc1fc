"""JAX primitives that kvant adds to JAXPR.

Two families:

* call-like primitives that appear in the traced program: ``kvant_qnode`` (a QNode call whose
  body is a sub-JAXPR of quantum primitives) and ``kvant_grad`` (a derivative of a sub-JAXPR);
* quantum primitives that appear only inside a ``kvant_qnode`` body: gates and measurements.
  They act on the simulator state, which is not a JAX value, so they carry an effect: JAX keeps
  them, in order, even when no value flows out of them.

Each primitive is defined here next to its abstract evaluation (JAX's habit); the lowering rule
for each lives in ``kvant.lowering.rules``.
"""

from __future__ import annotations

import numpy as np
from jax._src import core as jax_core
from jax._src import effects
from jax.extend.core import Primitive


class QuantumEffect(effects.Effect):
    """Reads or changes the state of the simulator."""

    def __str__(self):
        return "Quantum"


quantum_effect = QuantumEffect()
for _effect_set in (
    effects.lowerable_effects,
    effects.control_flow_allowed_effects,
    effects.custom_derivatives_allowed_effects,
    effects.remat_allowed_effects,
):
    _effect_set.add_type(QuantumEffect)


def _f64():
    return np.dtype("float64")


# ---------------------------------------------------------------------------------------------
# Gates
# ---------------------------------------------------------------------------------------------

#: ``gate(*params, *dynamic_wires, name, wires, adjoint, ctrl_wires, ctrl_values)``: a named gate
#: of the runtime's gate table; ``params`` are f64 scalars; ``wires``/``ctrl_wires`` hold static
#: register indices, or ``None`` for a wire known only at run time, which is then an int64
#: operand after the parameters (targets first, then controls).
gate_p = Primitive("kvant_gate")
gate_p.multiple_results = True


@gate_p.def_effectful_abstract_eval
def _gate_abstract_eval(*params, name, wires, adjoint, ctrl_wires, ctrl_values):
    del params, name, wires, adjoint, ctrl_wires, ctrl_values
    return [], {quantum_effect}


#: ``unitary(matrix, wires, adjoint, ctrl_wires, ctrl_values)``: a dense matrix gate.
unitary_p = Primitive("kvant_unitary")
unitary_p.multiple_results = True


@unitary_p.def_effectful_abstract_eval
def _unitary_abstract_eval(matrix, *dynamic_wires, wires, adjoint, ctrl_wires, ctrl_values):
    del matrix, dynamic_wires, wires, adjoint, ctrl_wires, ctrl_values
    return [], {quantum_effect}


# ---------------------------------------------------------------------------------------------
# Measurements
#
# An observable travels as a static, hashable description (see ``tracing.observables``); its
# array data (Hermitian matrices, Hamiltonian coefficients) are the primitive's operands, which
# the description refers to by position.
# ---------------------------------------------------------------------------------------------

expval_p = Primitive("kvant_expval")
var_p = Primitive("kvant_var")


def _scalar_measurement_abstract_eval(*obs_data, obs):
    del obs_data, obs
    return jax_core.ShapedArray((), _f64()), {quantum_effect}


expval_p.def_effectful_abstract_eval(_scalar_measurement_abstract_eval)
var_p.def_effectful_abstract_eval(_scalar_measurement_abstract_eval)

probs_p = Primitive("kvant_probs")


@probs_p.def_effectful_abstract_eval
def _probs_abstract_eval(*, wires):
    return jax_core.ShapedArray((2 ** len(wires),), _f64()), {quantum_effect}


state_p = Primitive("kvant_state")


@state_p.def_effectful_abstract_eval
def _state_abstract_eval(*, num_wires):
    return jax_core.ShapedArray((2**num_wires,), np.dtype("complex128")), {quantum_effect}


#: ``sample(*dynamic_wires, wires, shots)``: int64[shots, k] basis values of the wires.
sample_p = Primitive("kvant_sample")


@sample_p.def_effectful_abstract_eval
def _sample_abstract_eval(*, wires, shots):
    return jax_core.ShapedArray((shots, len(wires)), np.dtype("int64")), {quantum_effect}


#: ``counts(wires, shots)``: int64[2^k], how many shots gave each outcome.
counts_p = Primitive("kvant_counts")


@counts_p.def_effectful_abstract_eval
def _counts_abstract_eval(*, wires, shots):
    return jax_core.ShapedArray((2 ** len(wires),), np.dtype("int64")), {quantum_effect}


#: ``measure(*dynamic_wire, wire, reset, postselect)``: mid-circuit measurement, bool[].
measure_p = Primitive("kvant_measure")


@measure_p.def_effectful_abstract_eval
def _measure_abstract_eval(*dynamic_wire, wire, reset, postselect):
    return jax_core.ShapedArray((), np.dtype("bool")), {quantum_effect}


#: ``outcome_statistic(*values, kind, listed, size, dtype, shots, slots)``: a statistic
#: ("expval", "var", "probs", "sample", "counts") of mid-circuit measurement values (bool or
#: numeric scalars computed from ``measure`` outcomes; ``listed``: ``op=[m0, m1]``) in a QNode
#: body whose measurements are deferred; the deferral (``tracing.deferred``) replaces it by
#: measurements of the ancillas that hold the outcomes (``tracing.mcm_statistics``). ``size``:
#: the number of probabilities or count keys; ``dtype``: the samples' dtype; ``shots``: the
#: sample count, or None; ``slots``: the rule that puts outcomes into probs/counts entries.
outcome_statistic_p = Primitive("kvant_outcome_statistic")


@outcome_statistic_p.def_effectful_abstract_eval
def _outcome_statistic_abstract_eval(*values, kind, size, dtype, shots, listed, slots):
    del slots  # which entry each outcome assignment falls into (probs, counts)
    if kind in ("expval", "var"):
        aval = jax_core.ShapedArray((), _f64())
    elif kind == "probs":
        aval = jax_core.ShapedArray((size,), _f64())
    elif kind == "counts":
        aval = jax_core.ShapedArray((size,), np.dtype("int64"))
    else:  # samples: one column per listed value
        shape = (shots, len(values)) if listed else (shots,)
        aval = jax_core.ShapedArray(shape, np.dtype(dtype))
    return aval, {quantum_effect}


#: ``basis_state(bits, wires)`` / ``state_prep(amplitudes, wires)``: state preparation.
basis_state_p = Primitive("kvant_basis_state")
basis_state_p.multiple_results = True
state_prep_p = Primitive("kvant_state_prep")
state_prep_p.multiple_results = True


def _preparation_abstract_eval(data, *, wires):
    return [], {quantum_effect}


basis_state_p.def_effectful_abstract_eval(_preparation_abstract_eval)
state_prep_p.def_effectful_abstract_eval(_preparation_abstract_eval)


# ---------------------------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------------------------

#: ``qnode(*consts, *args, jaxpr, num_wires, device, diff_method, shots, seed, name,
#: measurements)``: one execution of a circuit. ``jaxpr`` is a closed JAXPR (constants turned
#: into leading inputs) whose equations are classical primitives and the quantum primitives
#: above. ``shots`` is None for exact results; ``seed`` (or None) seeds sampling at the start of
#: every execution. ``measurements`` names the measurement behind each output ("expval", "var",
#: "probs", "sample", "counts", "state"): with shots, outputs are classical estimates from
#: samples, and how they may be differentiated depends on what they estimate.
qnode_p = Primitive("kvant_qnode")
qnode_p.multiple_results = True


@qnode_p.def_abstract_eval
def _qnode_abstract_eval(
    *args, jaxpr, num_wires, device, diff_method, shots, seed, name, measurements
):
    return list(jaxpr.out_avals)


#: ``grad(*consts, *args, jaxpr, method, h, diff_args)``: the Jacobians of ``jaxpr`` (a closed
#: JAXPR of flat inputs) with respect to its flat inputs at positions ``diff_args``. Outputs are
#: ordered output-major: for each output o, for each differentiated input a, an array of shape
#: ``o.shape + a.shape``. ``with_values``: the outputs of ``jaxpr`` come first (value_and_grad,
#: jvp and vjp get them from the derivative's own forward pass). ``num_diff_outputs``: only the
#: first outputs are differentiated, the others are auxiliary values (``has_aux``); None: all.
grad_p = Primitive("kvant_grad")
grad_p.multiple_results = True


@grad_p.def_abstract_eval
def _grad_abstract_eval(*args, jaxpr, method, h, diff_args, name, with_values, num_diff_outputs):
    del method, h, name
    in_avals = jaxpr.in_avals
    values = list(jaxpr.out_avals) if with_values else []
    return values + [
        jax_core.ShapedArray(out.shape + in_avals[a].shape, in_avals[a].dtype)
        for out in jaxpr.out_avals[:num_diff_outputs]
        for a in diff_args
    ]


#: ``jvp(*consts, *args, *tangents, jaxpr, diff_args, name, num_diff_outputs)``: forward mode.
#: The outputs of ``jaxpr`` (a closed JAXPR of flat inputs) at ``args``, then the tangents of
#: its first ``num_diff_outputs`` outputs (all when None) for ``tangents``, one per flat input
#: at positions ``diff_args``, of that input's shape and dtype. Lowered to ``gradient.jvp``,
#: which pushes the tangents forward through the program (no Jacobian is formed).
jvp_p = Primitive("kvant_jvp")
jvp_p.multiple_results = True


@jvp_p.def_abstract_eval
def _jvp_abstract_eval(*args, jaxpr, diff_args, name, num_diff_outputs):
    del args, diff_args, name
    outs = list(jaxpr.out_avals)
    return outs + outs[:num_diff_outputs]


# ---------------------------------------------------------------------------------------------
# Control flow
#
# Each region is a closed JAXPR whose constants were turned into leading inputs; the primitive's
# operands carry those constants. ``quantum=True`` when the region was traced inside a QNode:
# the lowering then threads the QNode's register through the region.
# ---------------------------------------------------------------------------------------------


def _region_effects(quantum: bool):
    return {quantum_effect} if quantum else set()


#: ``for(lower, upper, step, *consts, *init, body, num_consts, quantum)``: ``body(*consts, i,
#: *carry) -> carry`` for i = lower, lower+step, ... while i < upper (i > upper if step < 0).
for_p = Primitive("kvant_for")
for_p.multiple_results = True


@for_p.def_effectful_abstract_eval
def _for_abstract_eval(*operands, body, num_consts, quantum):
    return list(body.out_avals), _region_effects(quantum)


#: ``while(*cond_consts, *body_consts, *init, cond, body, num_cond_consts, num_body_consts,
#: quantum)``: ``carry = body(carry)`` while ``cond(carry)``.
while_p = Primitive("kvant_while")
while_p.multiple_results = True


@while_p.def_effectful_abstract_eval
def _while_abstract_eval(*operands, cond, body, num_cond_consts, num_body_consts, quantum):
    return list(body.out_avals), _region_effects(quantum)


#: ``cond(*preds, *consts_0, ..., *consts_k, *args, branches, const_counts, quantum)``: the first
#: branch whose predicate holds runs on ``args``; the last branch (one more than predicates) is
#: the ``otherwise`` branch.
cond_p = Primitive("kvant_cond")
cond_p.multiple_results = True


@cond_p.def_effectful_abstract_eval
def _cond_abstract_eval(*operands, branches, const_counts, quantum):
    return list(branches[0].out_avals), _region_effects(quantum)


# ---------------------------------------------------------------------------------------------
# JAX's own differentiation
#
# kvant differentiates with its own transformations (kvant.grad, or qml.grad & co., which
# PennyLane hands to kvant), expanded by the compiler's derivative passes. A JAX transformation
# (jax.grad, jax.jacobian, catalyst.grad) of kvant's primitives inside kvant.qjit is refused by
# name, not with JAX's internal "Differentiation rule for 'kvant_qnode' not implemented".
# ---------------------------------------------------------------------------------------------


def _refuse_jax_differentiation(primitive):
    def jvp(primals, tangents, **params):
        from kvant.errors import UnsupportedError

        what = "a QNode" if primitive is qnode_p else f"kvant's '{primitive.name}'"
        raise UnsupportedError(
            f"JAX's own differentiation (jax.grad, jax.jacobian, jax.jvp, catalyst.grad, ...) "
            f"reached {what} inside kvant.qjit; differentiate with kvant.grad / "
            "kvant.jacobian / kvant.value_and_grad (or qml.grad / qml.jacobian under "
            "qml.qjit(compiler='kvant')), which run kvant's derivative passes"
        )

    return jvp


def _register_refusals() -> None:
    from jax._src.interpreters import ad

    for value in list(globals().values()):
        if isinstance(value, Primitive) and value.name.startswith("kvant_"):
            ad.primitive_jvps[value] = _refuse_jax_differentiation(value)


_register_refusals()
