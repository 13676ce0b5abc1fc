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
* ``postselect=v``: the ancilla is projected onto ``v`` (the runtime's postselecting
  measurement), which renormalizes the state: the statistics are conditioned on the outcome.

What cannot be deferred exactly is refused by name: a measurement inside a loop or a
conditional (its number of ancillas may be known only at run time), ``qml.state()`` (the state
of the device's wires is mixed), more than ``MAX_OUTCOMES`` outcomes deciding one operation.
"""

from __future__ import annotations

import itertools

from jax._src import core as jax_core

from kvant.errors import UnsupportedError
from kvant.tracing import quantum_regions as regions
from kvant.tracing.primitives import (
    cond_p,
    for_p,
    gate_p,
    measure_p,
    state_p,
    unitary_p,
    while_p,
)
from kvant.tracing.subjaxpr import trace_subjaxpr

MAX_OUTCOMES = 12

_HINT = ("use shots with mcm_method='one-shot', or mcm_method='single-branch-statistics' (one "
         "sampled branch per execution)")


class OnOutcomes:
    """A classical value that depends on mid-circuit outcomes: ``table[bits]`` is its value when
    the ancillas ``ancillas`` hold ``bits``."""

    def __init__(self, ancillas: tuple, table: dict):
        self.ancillas = ancillas
        self.table = table


def cannot_defer(jaxpr) -> str | None:
    """Why the measurements of the QNode body ``jaxpr`` cannot be deferred, or None."""
    from kvant.tracing.mcm import measure_eqns

    for eqn in jaxpr.jaxpr.eqns:
        if eqn.primitive in (for_p, while_p, cond_p):
            regions_of = [eqn.params["body"]] if eqn.primitive is not cond_p else eqn.params["branches"]
            if any(True for r in regions_of for _ in measure_eqns(r)):
                return ("a mid-circuit measurement inside a loop or a conditional cannot be "
                        "deferred (the number of outcomes may be known only at run time)")
        if eqn.primitive is state_p:
            return "qml.state() of a circuit with mid-circuit measurements is a mixed state"
    return None


def transform(jaxpr: jax_core.ClosedJaxpr, num_wires: int, enter_scope):
    """``jaxpr`` (a QNode body) with its measurements deferred onto ancilla wires
    ``num_wires, num_wires + 1, ...``. Returns ``(jaxpr, consts, num_ancillas)``;
    ``enter_scope(total_wires)`` is a context manager entering a QNode scope to trace in."""
    num_ancillas = sum(1 for e in jaxpr.jaxpr.eqns if e.primitive is measure_p)

    def body(*invals):
        with enter_scope(num_wires + num_ancillas):
            return _Deferring(num_wires).run(jaxpr, invals)

    avals = list(jaxpr.in_avals)
    new, consts = trace_subjaxpr(body, [None] * len(avals), "deferred", in_avals=avals)
    return new, consts, num_ancillas


class _Deferring:
    def __init__(self, first_ancilla: int):
        self.next_ancilla = first_ancilla

    def run(self, jaxpr, invals):
        j = jaxpr.jaxpr
        env = regions._Env(j, list(jaxpr.consts) + list(invals))
        for eqn in j.eqns:
            inputs = [env.read(v) for v in eqn.invars]
            if eqn.primitive is measure_p:
                outs = [self._measure(eqn, inputs)]
            elif any(isinstance(x, OnOutcomes) for x in inputs):
                outs = self._per_assignment(eqn, inputs)
            else:
                outs = regions._bind(eqn, inputs)
            env.write(eqn.outvars, outs)
        outs = [env.read(v) for v in j.outvars]
        if any(isinstance(x, OnOutcomes) for x in outs):
            raise UnsupportedError(
                "a QNode result computed from a mid-circuit measurement outcome cannot be "
                "deferred; " + _HINT
            )
        return outs

    def _measure(self, eqn, inputs):
        ancilla = self.next_ancilla
        self.next_ancilla += 1
        wire = eqn.params["wire"]
        target = (wire if wire is not None else None, ancilla)
        dynamic = list(inputs)  # a run-time wire is the measure's only operand
        _gate("CNOT", target, dynamic)
        if eqn.params["reset"]:
            _gate("CNOT", (ancilla, target[0]), dynamic)
        if eqn.params["postselect"] is not None:
            measure_p.bind(wire=ancilla, reset=False, postselect=eqn.params["postselect"])
        return OnOutcomes((ancilla,), {(0,): False, (1,): True})

    def _per_assignment(self, eqn, inputs):
        """``eqn`` once per assignment of the outcomes its inputs depend on, controlled on
        the ancillas holding that assignment when it acts on the state."""
        ancillas = tuple(sorted({a for x in inputs if isinstance(x, OnOutcomes) for a in x.ancillas}))
        if len(ancillas) > MAX_OUTCOMES:
            raise UnsupportedError(
                f"an operation decided by {len(ancillas)} mid-circuit outcomes cannot be deferred "
                f"(at most {MAX_OUTCOMES}); " + _HINT
            )
        quantum = regions._is_quantum(eqn)
        if eqn.primitive not in (gate_p, unitary_p, for_p, while_p, cond_p) and quantum:
            raise UnsupportedError(
                f"'{eqn.primitive.name}' takes a value computed from a mid-circuit measurement "
                "outcome, which cannot be deferred; " + _HINT
            )
        table = {}
        for bits in itertools.product((0, 1), repeat=len(ancillas)):
            values = [_at(x, ancillas, bits) for x in inputs]
            table[bits] = (self._controlled(eqn, values, ancillas, bits) if quantum
                           else _evaluate(eqn, values))
        return [OnOutcomes(ancillas, {bits: outs[k] for bits, outs in table.items()})
                for k in range(len(eqn.outvars))]

    def _controlled(self, eqn, values, ancillas, bits):
        """The quantum equation ``eqn`` on ``values``, controlled on ``ancillas == bits``;
        returns its outputs (the values a loop or branch computes on that assignment)."""
        if eqn.primitive is cond_p:
            preds, consts, args = regions.cond_operands(eqn, values)
            concrete = [_concrete_bool(p) for p in preds]
            if all(c is not None for c in concrete):
                # the outcomes decide the branch: apply it controlled, without a run-time test
                k = next((i for i, c in enumerate(concrete) if c), len(preds))
                return regions.emit_controlled(eqn.params["branches"][k], [*consts[k], *args],
                                               list(ancillas), bits)
        return regions.controlled_eqn(eqn, values, list(ancillas), bits)


def _gate(name, wires, dynamic):
    static = tuple(w if isinstance(w, int) else None for w in wires)
    gate_p.bind(*dynamic, name=name, wires=static, adjoint=False, ctrl_wires=(), ctrl_values=())


def _evaluate(eqn, values):
    """A classical equation on one assignment's values: folded to a constant when they all are
    known (so that a condition on outcomes picks its branch while tracing)."""
    if any(isinstance(v, jax_core.Tracer) for v in values):
        return regions._bind(eqn, values)
    with jax_core.eval_context():
        return regions._bind(eqn, values)


def _at(x, ancillas, bits):
    if not isinstance(x, OnOutcomes):
        return x
    return x.table[tuple(bits[ancillas.index(a)] for a in x.ancillas)]


def _concrete_bool(value):
    try:
        return bool(value)
    except Exception:  # a traced predicate: decided at run time
        return None
