"""Deferred mid-circuit measurements: exact statistics of the mixture of branches.

A measurement of wire ``w`` becomes a CNOT from ``w`` onto a fresh ancilla wire; the ancilla
then holds the outcome coherently, and everything the outcome decides is applied controlled on
it. The terminal measurements of the device's wires are then exactly the statistics of the
mixture over all outcomes (PennyLane's ``mcm_method="deferred"``, its default without shots).

The QNode body, traced once, is re-emitted by a small interpreter. A classical value computed
from outcomes is an :class:`OnOutcomes` value: a table from each assignment of the outcomes it
depends on to the value (concrete, or traced when it also depends on the arguments). An
operation that takes such a value is emitted once per assignment, controlled on the ancillas
being in that assignment: a gate whose angle depends on an outcome, a ``cond`` on an outcome
(its branch picked per assignment), a loop whose trip count depends on one.

* ``reset=True``: a CNOT back from the ancilla onto ``w`` sets ``w`` to ``|0>``.
* ``postselect=v``: the statistics are conditioned on the ancilla holding ``v``. Without shots
  they are computed as conditional statistics of the unitary circuit, so that both derivative
  methods apply: with ``P`` the projector onto the postselected outcomes,
  ``E[O | v] = ⟨O ⊗ P⟩ / ⟨P⟩``, ``P = ⊗_j |v_j><v_j|`` a tensor product of one 2x2 Hermitian
  factor per ancilla (two expectation values per observable, whatever the number of
  postselections); probabilities are those of the device's wires and the
  ancillas, restricted to the postselected outcomes and normalized. With shots, the runtime's
  postselecting measurement projects the state (each shot is drawn from the conditioned
  state).

A measurement inside a ``cond`` on classical values gets its own ancilla, whichever branch
runs: the branches are re-emitted deferred, and the ancilla of a branch that does not run stays
``|0>`` (PennyLane's deferral does the same). A ``for`` loop whose bounds are known while
tracing is unrolled, each iteration's measurements on ancillas of their own (PennyLane unrolls
such loops before deferring, as Python loops); at most ``MAX_ANCILLAS`` ancillas in all.

What cannot be deferred exactly is refused by name, as PennyLane's ``defer_measurements`` of a
captured program refuses it: a measurement inside a ``while`` loop or a ``for`` loop with bounds
known only at run time (its number of ancillas is known only then), a measurement inside a
``cond`` decided by an outcome, an outcome returned from a ``cond``, a postselection inside a
``cond`` (without shots), ``qml.state()`` (the state of the device's wires is mixed), more than
``MAX_OUTCOMES`` outcomes deciding one operation.
"""

from __future__ import annotations

import itertools

import jax.numpy as jnp
from jax._src import core as jax_core

from kvant.errors import UnsupportedError
from kvant.tracing import mcm_statistics
from kvant.tracing import quantum_regions as regions
from kvant.tracing.primitives import (
    cond_p,
    expval_p,
    for_p,
    gate_p,
    measure_p,
    outcome_statistic_p,
    probs_p,
    state_p,
    unitary_p,
    var_p,
    while_p,
)
from kvant.tracing.subjaxpr import trace_subjaxpr

MAX_OUTCOMES = 12
MAX_ANCILLAS = 16

_HINT = (
    "use shots with mcm_method='one-shot', or mcm_method='single-branch-statistics' (one "
    "sampled branch per execution)"
)


class OnOutcomes:
    """A classical value that depends on mid-circuit outcomes: ``table[bits]`` is its value when
    the ancillas ``ancillas`` hold ``bits``."""

    def __init__(self, ancillas: tuple, table: dict):
        self.ancillas = ancillas
        self.table = table


def cannot_defer(jaxpr) -> str | None:
    """Why the measurements of the QNode body ``jaxpr`` cannot be deferred, or None."""
    from kvant.tracing.mcm import measure_eqns

    consts = dict(zip(jaxpr.jaxpr.constvars, jaxpr.consts))
    for eqn in jaxpr.jaxpr.eqns:
        if eqn.primitive in (for_p, while_p) and any(
            True for _ in measure_eqns(eqn.params["body"])
        ):
            static = eqn.primitive is for_p and all(
                isinstance(v, jax_core.Literal) or v in consts for v in eqn.invars[:3]
            )
            if not static:
                return _LOOP_REFUSAL
        if eqn.primitive is cond_p:
            for branch in eqn.params["branches"]:
                why = cannot_defer(branch)
                if why is not None:
                    return why
        if eqn.primitive is state_p:
            return "qml.state() of a circuit with mid-circuit measurements is a mixed state"
    return None


_LOOP_REFUSAL = (
    "a mid-circuit measurement inside a while loop, or a for loop whose bounds are known only "
    "at run time, cannot be deferred (the number of outcomes is known only then; PennyLane's "
    "deferral of compiled loops refuses it too)"
)


def count_measurements(jaxpr) -> int:
    """The ancillas the deferral of ``jaxpr`` takes: one per measurement, branches included."""
    from kvant.tracing.mcm import measure_eqns

    return sum(1 for _ in measure_eqns(jaxpr))


def transform(jaxpr: jax_core.ClosedJaxpr, num_wires: int, enter_scope, kinds, shots=None):
    """``jaxpr`` (a QNode body) with its measurements deferred onto ancilla wires
    ``num_wires, num_wires + 1, ...``; ``kinds`` names its outputs' measurements.

    Returns ``(jaxpr, consts, num_ancillas, kinds, finish)``: the new body measures what the
    conditional statistics of postselection need (then ``kinds`` names those), and
    ``finish(outputs)`` computes the QNode's results from them in the calling program, where
    classical differentiation handles the quotients; ``enter_scope(total_wires)`` is a context
    manager entering a QNode scope to trace in."""
    num_ancillas = count_measurements(jaxpr)
    plan = {}

    def body(*invals):
        with enter_scope(num_wires + num_ancillas):
            deferring = _Deferring(num_wires, analytic=shots is None)
            outs = deferring.run(jaxpr, invals)
        # unrolled loops measure once per iteration
        plan["ancillas"] = deferring.next_ancilla - num_wires
        raw, raw_kinds, pieces = [], [], []
        for value, kind in zip(outs, kinds):
            if isinstance(value, _Conditional):
                pieces.append((len(raw), len(value.raw), value.combine))
                raw += value.raw
                raw_kinds += value.kinds
            else:
                pieces.append((len(raw), 1, None))
                raw.append(value)
                raw_kinds.append(kind)
        plan["kinds"], plan["pieces"] = tuple(raw_kinds), pieces
        return raw

    avals = list(jaxpr.in_avals)
    new, consts = trace_subjaxpr(body, [None] * len(avals), "deferred", in_avals=avals)
    num_ancillas = plan["ancillas"]

    def finish(outputs):
        return [
            outputs[start] if combine is None else combine(*outputs[start : start + n])
            for start, n, combine in plan["pieces"]
        ]

    return new, consts, num_ancillas, plan["kinds"], finish


class _Conditional:
    """A terminal measurement conditioned on postselected outcomes: the measurements ``raw``
    (of the measurement kinds ``kinds``) taken in the circuit, combined by ``combine`` outside
    it."""

    def __init__(self, raw, kinds, combine):
        self.raw, self.kinds, self.combine = list(raw), list(kinds), combine


class _Deferring:
    def __init__(self, first_ancilla: int, analytic: bool):
        self.first_ancilla = first_ancilla
        self.next_ancilla = first_ancilla
        self.analytic = analytic
        # (ancilla, outcome) of each postselected measurement, conditioned on at the end
        self.postselected: list[tuple[int, int]] = []
        self.in_branch = 0  # depth of cond branches being re-emitted

    def run(self, jaxpr, invals, outcomes_out=False):
        """Re-emit ``jaxpr`` deferred; ``outcomes_out``: its results may depend on outcomes (an
        unrolled loop's state)."""
        j = jaxpr.jaxpr
        env = regions.JaxprEnv(j, list(jaxpr.consts) + list(invals))
        for eqn in j.eqns:
            inputs = [env.read(v) for v in eqn.invars]
            if eqn.primitive is measure_p:
                outs = [self._measure(eqn, inputs)]
            elif eqn.primitive is outcome_statistic_p:
                outs = [
                    mcm_statistics.deferred(
                        eqn,
                        inputs,
                        self.postselected,
                        self.analytic,
                        OnOutcomes,
                        _Conditional,
                        _HINT,
                    )
                ]
            elif eqn.primitive is cond_p and count_measurements_in(eqn):
                outs = self._cond_with_measurements(eqn, inputs)
            elif eqn.primitive in (for_p, while_p) and count_measurements(eqn.params["body"]):
                outs = self._unrolled_for(eqn, inputs)
            elif self.postselected and eqn.primitive in (expval_p, var_p, probs_p):
                outs = [self._conditional(eqn, inputs)]
            elif any(isinstance(x, OnOutcomes) for x in inputs):
                outs = self._per_assignment(eqn, inputs)
            else:
                outs = regions.bind_eqn(eqn, inputs)
            env.write(eqn.outvars, outs)
        outs = [env.read(v) for v in j.outvars]
        if outcomes_out:
            return outs
        if any(isinstance(x, OnOutcomes) for x in outs) and self.in_branch:
            raise UnsupportedError(
                "a value computed from a mid-circuit measurement outcome returned from a cond "
                "cannot be deferred; " + _HINT
            )
        if any(isinstance(x, OnOutcomes) for x in outs):
            raise UnsupportedError(
                "a QNode result computed from a mid-circuit measurement outcome cannot be "
                "deferred; " + _HINT
            )
        return outs

    def _unrolled_for(self, eqn, inputs):
        """A ``for`` loop with measurements, unrolled: its bounds must be known while tracing."""
        bounds = inputs[:3]
        if eqn.primitive is while_p or any(
            isinstance(b, (jax_core.Tracer, OnOutcomes)) for b in bounds
        ):
            raise UnsupportedError(_LOOP_REFUSAL + "; " + _HINT)
        lower, upper, step = (int(b) for b in bounds)
        num_consts = eqn.params["num_consts"]
        consts, state = inputs[3 : 3 + num_consts], inputs[3 + num_consts :]
        for i in range(lower, upper, step):
            state = self.run(
                eqn.params["body"], [*consts, jnp.asarray(i, jnp.int64), *state], outcomes_out=True
            )
        return list(state)

    def _measure(self, eqn, inputs):
        ancilla = self.next_ancilla
        self.next_ancilla += 1
        if ancilla - self.first_ancilla >= MAX_ANCILLAS:
            raise UnsupportedError(
                f"deferring the mid-circuit measurements takes more than {MAX_ANCILLAS} ancilla "
                "wires (a measurement in an unrolled loop takes one per iteration); " + _HINT
            )
        wire = eqn.params["wire"]
        target = (wire if wire is not None else None, ancilla)
        dynamic = list(inputs)  # a run-time wire is the measure's only operand
        _gate("CNOT", target, dynamic)
        if eqn.params["reset"]:
            _gate("CNOT", (ancilla, target[0]), dynamic)
        if eqn.params["postselect"] is not None:
            if self.analytic and self.in_branch:
                raise UnsupportedError(
                    "a postselected mid-circuit measurement inside a cond cannot be deferred "
                    "without shots (the condition holds only on the runs of the branch); " + _HINT
                )
            if self.analytic:
                self.postselected.append((ancilla, int(eqn.params["postselect"])))
            else:
                measure_p.bind(wire=ancilla, reset=False, postselect=eqn.params["postselect"])
        return OnOutcomes((ancilla,), {(0,): False, (1,): True})

    def _cond_with_measurements(self, eqn, inputs):
        """A ``cond`` on classical values whose branches measure: each branch re-emitted
        deferred, its measurements on ancillas of their own."""
        from kvant.tracing.control_flow import trace_cond

        if any(isinstance(x, OnOutcomes) for x in inputs):
            raise UnsupportedError(
                "a mid-circuit measurement inside a cond decided by a mid-circuit outcome cannot "
                "be deferred (PennyLane's deferral refuses it too); " + _HINT
            )
        preds, consts, args = regions.cond_operands(eqn, inputs)

        def branch(k):
            def run(*values):
                self.in_branch += 1
                try:
                    outs = self.run(eqn.params["branches"][k], [*consts[k], *values])
                finally:
                    self.in_branch -= 1
                return tuple(outs)

            return run

        outs = trace_cond(
            preds, [branch(k) for k in range(len(preds))], branch(len(preds)), tuple(args), {}
        )
        return list(outs) if len(eqn.outvars) else []

    def _per_assignment(self, eqn, inputs):
        """``eqn`` once per assignment of the outcomes its inputs depend on, controlled on
        the ancillas holding that assignment when it acts on the state."""
        ancillas = tuple(
            sorted({a for x in inputs if isinstance(x, OnOutcomes) for a in x.ancillas})
        )
        if len(ancillas) > MAX_OUTCOMES:
            raise UnsupportedError(
                f"an operation decided by {len(ancillas)} mid-circuit outcomes cannot be deferred "
                f"(at most {MAX_OUTCOMES}); " + _HINT
            )
        quantum = regions.acts_on_state(eqn)
        if eqn.primitive not in (gate_p, unitary_p, for_p, while_p, cond_p) and quantum:
            raise UnsupportedError(
                f"'{eqn.primitive.name}' takes a value computed from a mid-circuit measurement "
                "outcome, which cannot be deferred; " + _HINT
            )
        table = {}
        for bits in itertools.product((0, 1), repeat=len(ancillas)):
            values = [_at(x, ancillas, bits) for x in inputs]
            table[bits] = (
                self._controlled(eqn, values, ancillas, bits) if quantum else _evaluate(eqn, values)
            )
        return [
            OnOutcomes(ancillas, {bits: outs[k] for bits, outs in table.items()})
            for k in range(len(eqn.outvars))
        ]

    def _controlled(self, eqn, values, ancillas, bits):
        """The quantum equation ``eqn`` on ``values``, controlled on ``ancillas == bits``;
        returns its outputs (the values a loop or branch computes on that assignment)."""
        if eqn.primitive is cond_p:
            preds, consts, args = regions.cond_operands(eqn, values)
            concrete = [_concrete_bool(p) for p in preds]
            if all(c is not None for c in concrete):
                # the outcomes decide the branch: apply it controlled, without a run-time test
                k = next((i for i, c in enumerate(concrete) if c), len(preds))
                return regions.emit_controlled(
                    eqn.params["branches"][k], [*consts[k], *args], list(ancillas), bits
                )
        return regions.controlled_eqn(eqn, values, list(ancillas), bits)

    def _conditional(self, eqn, inputs):
        """A terminal measurement conditioned on the postselected outcomes."""
        ancillas = [a for a, _ in self.postselected]
        if eqn.primitive is probs_p:
            wires = eqn.params["wires"]
            joint = probs_p.bind(wires=tuple(wires) + tuple(ancillas))
            column = sum(v << (len(ancillas) - 1 - k) for k, (_, v) in enumerate(self.postselected))

            def normalized(joint):
                kept = joint.reshape(2 ** len(wires), 2 ** len(ancillas))[:, column]
                return kept / jnp.sum(kept)

            return _Conditional([joint], ["probs"], normalized)
        desc = eqn.params["obs"]
        raw = self._projected(desc, list(inputs))
        if eqn.primitive is expval_p:
            return _Conditional(raw, ["expval"] * len(raw), self._quotient)
        square, operands = _square(desc, list(inputs))
        raw_square = self._projected(square, operands)
        n = len(raw)

        def variance(*values):
            mean = self._quotient(*values[:n])
            return self._quotient(*values[n:]) - mean**2

        return _Conditional(raw + raw_square, ["expval"] * (n + len(raw_square)), variance)

    def _projector(self, first_operand: int):
        """The projector onto the postselected outcomes, ``P = ⊗_j |v_j><v_j|`` on their
        ancillas, as tensor factors (one 2x2 Hermitian each, numbered from ``first_operand``)
        and their matrices."""
        factors, matrices = [], []
        for ancilla, value in self.postselected:
            factors.append(("hermitian", first_operand + len(matrices), (ancilla,)))
            matrices.append(jnp.diag(jnp.asarray([1.0 - value, float(value)], jnp.complex128)))
        return tuple(factors), matrices

    def _projected(self, desc, operands):
        """``⟨O ⊗ P⟩`` and ``⟨P⟩``, whose quotient is ``E[O | postselected]``."""
        factors, matrices = self._projector(len(operands))
        numerator = expval_p.bind(*operands, *matrices, obs=_times(desc, factors))
        norm_factors, norm_matrices = self._projector(0)
        norm = expval_p.bind(*norm_matrices, obs=_times(("named", "Identity", 0), norm_factors))
        return [numerator, norm]

    @staticmethod
    def _quotient(numerator, norm):
        return numerator / norm


def count_measurements_in(eqn) -> int:
    return sum(count_measurements(b) for b in eqn.params["branches"])


def _times(desc, zs):
    """The observable ``desc ⊗ F...`` (``zs``: factors on ancillas)."""
    if not zs:
        return desc
    if desc[0] == "hamiltonian":
        return ("hamiltonian", desc[1], tuple(_times(term, zs) for term in desc[2]))
    if desc[0] == "named" and desc[1] == "Identity":
        return ("tensor", zs) if len(zs) > 1 else zs[0]
    factors = desc[1] if desc[0] == "tensor" else (desc,)
    return ("tensor", tuple(factors) + zs)


def _square(desc, operands):
    """``O²`` as a description: the identity for the named observables (each squares to I) and
    their tensor products, the squared matrix for a Hermitian one."""
    kind = desc[0]
    if kind == "named" or (kind == "tensor" and all(f[0] == "named" for f in desc[1])):
        return ("named", "Identity", 0), []
    if kind == "hermitian":
        matrix = operands[desc[1]]
        return ("hermitian", 0, desc[2]), [matrix @ matrix]
    raise UnsupportedError(
        "the variance of a sum of observables, or of a product with a Hermitian factor, "
        "conditioned on a postselected mid-circuit measurement is not supported; " + _HINT
    )


def _gate(name, wires, dynamic):
    static = tuple(w if isinstance(w, int) else None for w in wires)
    gate_p.bind(*dynamic, name=name, wires=static, adjoint=False, ctrl_wires=(), ctrl_values=())


def _evaluate(eqn, values):
    """A classical equation on one assignment's values: folded to a constant when they all are
    known (so that a condition on outcomes picks its branch while tracing)."""
    if any(isinstance(v, jax_core.Tracer) for v in values):
        return regions.bind_eqn(eqn, values)
    with jax_core.eval_context():
        return regions.bind_eqn(eqn, values)


def _at(x, ancillas, bits):
    if not isinstance(x, OnOutcomes):
        return x
    return x.table[tuple(bits[ancillas.index(a)] for a in x.ancillas)]


def _concrete_bool(value):
    try:
        return bool(value)
    except Exception:  # a traced predicate: decided at run time
        return None
