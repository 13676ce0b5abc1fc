"""Statistics of mid-circuit measurement values: ``qml.expval(m)``, ``qml.var(2 * m0 + m1)``,
``qml.probs(op=[m0, m1])``, ``qml.sample(m)``, ``qml.counts(m0 ^ m1)``.

Inside a QNode that kvant traces, ``qml.measure`` returns the outcome as a traced bool and
arithmetic on outcomes is ordinary JAX code; PennyLane's measurement process keeps that traced
value as its ``mv`` (a list of them for ``op=[m0, m1]``). What the statistic is depends on the
QNode's ``mcm_method`` (``tracing.mcm``):

* ``"deferred"`` (the default without shots): an ``outcome_statistic`` equation, which the
  deferral (``tracing.deferred``) replaces by measurements of the ancillas that hold the
  outcomes. Without shots it measures their joint probabilities (with the postselected ancillas)
  and the statistic is computed from them in the calling program, a linear (for ``var``,
  quadratic) function of probabilities, so both derivative methods differentiate it; with
  shots it samples the ancillas and computes the statistic from the samples.
* ``"one-shot"``: each shot records the value (``expval``, ``var``, ``sample``) or a one-hot
  vector of its outcome (``probs``, ``counts``), and the loop over shots reduces the records
  (``mcm.run_one_shot``).
* ``"single-branch-statistics"``: the statistics of the one sampled branch: ``expval`` is the
  value itself, ``var`` zero, ``probs`` and ``counts`` one-hot; ``sample`` returns the value
  itself, as Catalyst does (a list of values: their vector).

PennyLane's rules are kept: ``probs`` of values each decided by one measurement (its entries in
the order of the measured bits, so a value must take two distinct values); ``counts`` keyed by
the values a value takes (floats; bit strings for a list of 0/1 values). As for kvant's counts
of wires, every possible key is present, counted or not (PennyLane's ``all_outcomes=True``).

The values a value takes are found by walking the trace backwards from it to the ``measure``
results it is computed from (``_dependence``) and evaluating that slice of the program for each
assignment of the outcomes.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import core as jax_core
from jax._src.interpreters import partial_eval as pe
from pennylane.measurements import (
    CountsMP,
    ExpectationMP,
    ProbabilityMP,
    SampleMP,
    VarianceMP,
)

from kvant.errors import UnsupportedError
from kvant.tracing.primitives import outcome_statistic_p, probs_p, sample_p

_KINDS = {
    ExpectationMP: "expval",
    VarianceMP: "var",
    ProbabilityMP: "probs",
    SampleMP: "sample",
    CountsMP: "counts",
}

#: A value decided by more outcomes than this is refused (its table has 2^n entries).
MAX_OUTCOMES = 12


class Dependence:
    """What a traced value of a QNode body is computed from."""

    def __init__(self):
        self.outcomes: list = []  # the scope's outcome tracers it depends on, in measure order
        self.eqns: list = []  # the equations from them to the value, in evaluation order
        # a quantum operation other than a measure result (a loop or cond that measures or
        # applies gates): its outcome table is unknown while tracing
        self.opaque = False
        self.arguments = False  # values known only at run time (the QNode's arguments)

    @property
    def on_outcomes(self) -> bool:
        return bool(self.outcomes) or self.opaque

    @property
    def pure(self) -> bool:
        """A function of the outcomes alone, so its values can be tabulated while tracing."""
        return bool(self.outcomes) and not self.opaque and not self.arguments


def dependence(value, outcomes) -> Dependence:
    """Walk the trace backwards from ``value`` to what it is computed from; ``outcomes`` are the
    results of the QNode's ``measure`` equations so far (tracers)."""
    position = {t.val: k for k, t in enumerate(outcomes) if isinstance(t, pe.DynamicJaxprTracer)}
    found = Dependence()
    reached, seen_tracers, seen_eqns = set(), set(), set()
    stack = [(value, False)]
    while stack:
        tracer, expanded = stack.pop()
        if not isinstance(tracer, pe.DynamicJaxprTracer):
            if isinstance(tracer, jax.core.Tracer):  # of another trace: known at run time only
                found.arguments = True
            continue
        eqn = tracer.parent
        if expanded:
            if id(eqn) not in seen_eqns:
                seen_eqns.add(id(eqn))
                found.eqns.append(eqn)
            continue
        if id(tracer) in seen_tracers:
            continue
        seen_tracers.add(id(tracer))
        var = tracer.val
        if not isinstance(var, jax_core.Literal) and var in position:
            reached.add(position[var])
            continue
        if eqn is None:
            if not isinstance(var, jax_core.Literal) and var not in _constants(tracer):
                found.arguments = True
            continue
        if eqn.effects:
            found.opaque = True
            continue
        stack.append((tracer, True))
        stack.extend((t, False) for t in reversed(eqn.in_tracers))
    found.outcomes = [outcomes[k] for k in sorted(reached)]
    return found


def _constants(tracer) -> dict:
    return tracer._trace.frame.constvar_to_val


def table(value, found: Dependence) -> dict:
    """``{bits: value}`` for each assignment of the outcomes ``value`` depends on (a pure
    dependence), evaluated while tracing."""
    if len(found.outcomes) > MAX_OUTCOMES:
        raise UnsupportedError(
            f"a statistic of a value decided by {len(found.outcomes)} mid-circuit measurements "
            f"(at most {MAX_OUTCOMES})"
        )
    result = {}
    for bits in itertools.product((0, 1), repeat=len(found.outcomes)):
        env = {t.val: np.bool_(b) for t, b in zip(found.outcomes, bits)}

        def read(x):
            if not isinstance(x, pe.DynamicJaxprTracer):
                return x
            var = x.val
            if isinstance(var, jax_core.Literal):
                return var.val
            if var in env:
                return env[var]
            return _constants(x)[var]

        with jax_core.eval_context():
            for eqn in found.eqns:
                subfuns, params = eqn.primitive.get_bind_params(eqn.params)
                outs = eqn.primitive.bind(*subfuns, *(read(t) for t in eqn.in_tracers), **params)
                env.update(zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]))
            result[bits] = np.asarray(read(value))
    return result


def emit(mp, scope):
    """The value of the statistic ``mp`` of mid-circuit measurement values in the QNode being
    traced (``scope``): its output, or a dict of outputs for counts."""
    kind = _KINDS.get(type(mp))
    name = f"qml.{kind}" if kind else type(mp).__name__
    if kind is None:
        raise UnsupportedError(f"{name} of a mid-circuit measurement value is not supported")
    listed = isinstance(mp.mv, (list, tuple))
    values = [jnp.asarray(v) for v in (mp.mv if listed else [mp.mv])]
    if listed and kind in ("expval", "var"):
        raise ValueError(f"{name} takes one mid-circuit measurement value, not a list")
    if kind in ("sample", "counts") and scope.shots is None:
        raise ValueError(
            f"{name} of a mid-circuit measurement value needs shots: decorate the QNode with "
            f"@qml.set_shots(n) (QNode '{scope.name}')"
        )
    found = []
    for v in values:
        if v.shape != () or not (
            jnp.issubdtype(v.dtype, jnp.bool_)
            or jnp.issubdtype(v.dtype, jnp.integer)
            or jnp.issubdtype(v.dtype, jnp.floating)
        ):
            raise UnsupportedError(
                f"{name} of a value of shape {v.shape} and dtype {v.dtype}: statistics of "
                "mid-circuit measurement values take real scalars computed from outcomes"
            )
        dep = dependence(v, scope.outcomes)
        if not dep.on_outcomes:
            raise UnsupportedError(
                f"{name} of a value that no mid-circuit measurement decides: the op of a "
                "statistic is an outcome of qml.measure, or arithmetic on outcomes"
            )
        found.append(dep)
    slots, keys = None, None
    if kind == "probs":
        slots = _probs_bits(values, found, name)
    elif kind == "counts":
        keys, slots = _counts_keys(values, found, name, listed, scope.mcm_method == "deferred")
    dtype = "float64" if any(jnp.issubdtype(v.dtype, jnp.floating) for v in values) else "int64"
    size = 2 ** len(values) if kind == "probs" else (len(keys) if keys else 0)

    if scope.one_shot:
        out = _one_shot_record(kind, values, listed, dtype, size, slots)
    elif scope.mcm_method == "single-branch-statistics":
        out = _branch_statistic(kind, values, listed, dtype, size, slots, scope.shots)
    else:  # deferred, or the first trace of a one-shot QNode (its avals and kinds)
        out = outcome_statistic_p.bind(
            *values,
            kind=kind,
            listed=listed,
            size=size,
            dtype=dtype,
            shots=scope.shots,
            slots=None if slots is None else _hashable(slots),
        )
    if kind == "counts":
        return {key: out[k] for k, key in enumerate(keys)}
    return out


def _probs_bits(values, found, name):
    """For probs: per value, its value when its one measurement gave 1 (the other value being
    its value for 0), as ``("bit", v1)`` slots."""
    ones = []
    for v, dep in zip(values, found):
        if dep.opaque or dep.arguments or len(dep.outcomes) != 1:
            raise UnsupportedError(
                f"{name} of a value that is not decided by exactly one mid-circuit measurement "
                "(PennyLane takes the probabilities of a list of measurement values, "
                "qml.probs(op=[m0, m1]), each an outcome or a function of one)"
            )
        t = table(v, dep)
        if t[(0,)] == t[(1,)]:
            raise UnsupportedError(
                f"{name} of a value that is the same for both outcomes of its measurement"
            )
        ones.append(t[(1,)].item())
    if len({id(dep.outcomes[0]) for dep in found}) != len(found):
        raise UnsupportedError(f"{name} of a list that names one mid-circuit measurement twice")
    return ("bits", tuple(ones))


def _counts_keys(values, found, name, listed, typed):
    """The count keys (every value the op takes) and the slot rule that maps values to them.
    ``typed``: keyed as PennyLane's deferred execution keys them, by the values in their dtype
    (np.True_ for a condition, integers for an outcome or a sum of outcomes); else by floats, as
    its one-shot and tree-traversal executions key them (equal keys either way: 1.0 == True)."""
    tables = []
    for v, dep in zip(values, found):
        if not dep.pure:
            source = "inside a loop or cond" if dep.opaque else "from the QNode arguments"
            raise UnsupportedError(
                f"{name} of a value computed {source}: its possible values, the keys of the "
                "counts, must be known while tracing"
            )
        tables.append(table(v, dep))
    if not listed:
        if not typed:
            keys = sorted({float(x) for x in tables[0].values()})
        elif any(values[0] is outcome for outcome in found[0].outcomes):
            keys = sorted({int(x) for x in tables[0].values()})  # PennyLane's outcomes: 0, 1
        else:
            keys = sorted({np.asarray(x)[()] for x in tables[0].values()})
        return keys, ("values", tuple(keys))
    for t in tables:
        if not {float(x) for x in t.values()} <= {0.0, 1.0}:
            raise UnsupportedError(
                f"{name} of a list of values that are not all 0/1 (PennyLane keys the counts "
                "of a list by bit strings)"
            )
    n = len(values)
    keys = ["".join(bits) for bits in itertools.product("01", repeat=n)]
    return keys, ("bits", (1.0,) * n)


def _hashable(slots):
    return (slots[0], tuple(float(x) for x in slots[1]))


def _slot(values, slots):
    """The index of the probs/counts entry the values fall into (traced int)."""
    rule, data = slots
    if rule == "values":
        matches = jnp.asarray(data, jnp.float64) == values[0].astype(jnp.float64)
        return jnp.argmax(matches)
    index = jnp.asarray(0, jnp.int64)
    for v, one in zip(values, data):
        bit = (v.astype(jnp.float64) == one).astype(jnp.int64)
        index = index * 2 + bit
    return index


def _one_hot(index, size, dtype):
    return (jnp.arange(size) == index).astype(dtype)


def _cast(v, dtype):
    return v.astype(jnp.dtype(dtype))


def _one_shot_record(kind, values, listed, dtype, size, slots):
    """What one shot records (reduced over the shots by ``mcm.run_one_shot``)."""
    if kind in ("expval", "var"):
        return values[0].astype(jnp.float64)
    if kind == "sample":
        if listed:
            return jnp.stack([_cast(v, dtype) for v in values])[None, :]
        return _cast(values[0], dtype)[None]
    return _one_hot(_slot(values, slots), size, jnp.float64 if kind == "probs" else jnp.int64)


def _branch_statistic(kind, values, listed, dtype, size, slots, shots):
    """The statistic of the one branch an execution samples."""
    if kind == "expval":
        return values[0].astype(jnp.float64)
    if kind == "var":
        return jnp.zeros((), jnp.float64)
    if kind == "sample":
        # Catalyst's qml.sample(m) under single-branch statistics: the value itself
        return jnp.stack([_cast(v, dtype) for v in values]) if listed else values[0]
    if kind == "probs":
        return _one_hot(_slot(values, slots), size, jnp.float64)
    return shots * _one_hot(_slot(values, slots), size, jnp.int64)


# ---------------------------------------------------------------------------------------------
# Deferred: the statistic from the ancillas that hold the outcomes
# ---------------------------------------------------------------------------------------------


def deferred(eqn, inputs, postselected, analytic, on_outcomes_type, conditional_type, hint):
    """The ``outcome_statistic`` equation ``eqn`` after deferral: ``inputs`` are its values as
    tables over ancillas (``on_outcomes_type`` values), ``postselected`` the (ancilla, outcome)
    pairs conditioned on. Without shots, a ``conditional_type`` (the joint probabilities of the
    ancillas, combined outside the circuit); with shots, the statistic from samples."""
    params = eqn.params
    kind, shots, listed = params["kind"], params["shots"], params["listed"]
    tables = []
    for x in inputs:
        if not isinstance(x, on_outcomes_type):
            x = on_outcomes_type((), {(): x})
        if any(isinstance(val, jax.core.Tracer) for val in x.table.values()):
            raise UnsupportedError(
                f"qml.{kind} of a mid-circuit measurement value computed from the QNode's "
                "arguments cannot be deferred; " + hint
            )
        tables.append(x)
    ancillas = tuple(sorted({a for x in tables for a in x.ancillas}))
    post = [] if not analytic else list(postselected)
    wires = tuple(sorted(set(ancillas) | {a for a, _ in post}))
    if len(wires) > MAX_OUTCOMES:
        raise UnsupportedError(
            f"qml.{kind} of mid-circuit measurement values decided by {len(wires)} outcomes "
            f"(at most {MAX_OUTCOMES}); " + hint
        )
    assignments = list(itertools.product((0, 1), repeat=len(wires)))

    def value_at(x, bits):
        return float(np.asarray(x.table[tuple(bits[wires.index(a)] for a in x.ancillas)]))

    columns = np.asarray([[value_at(x, bits) for bits in assignments] for x in tables])
    slots = params["slots"]
    if slots is not None:
        size = params["size"]
        slot = np.asarray([_static_slot(columns[:, i], slots) for i in range(len(assignments))])
        onto = np.zeros((len(assignments), size))
        onto[np.arange(len(assignments)), slot] = 1.0
    if analytic:
        mask = np.asarray(
            [all(bits[wires.index(a)] == v for a, v in post) for bits in assignments], np.float64
        )
        g = columns[0]

        def combine(joint):
            w = joint
            if post:
                w = joint * mask
                w = w / jnp.sum(w)
            if kind == "expval":
                return w @ g
            if kind == "var":
                mean = w @ g
                return w @ (g**2) - mean**2
            return w @ onto  # probs

        joint = probs_p.bind(wires=wires)
        return conditional_type([joint], ["probs"], combine)
    samples = sample_p.bind(wires=wires, shots=shots)
    index = samples @ (2 ** jnp.arange(len(wires) - 1, -1, -1))
    if kind in ("probs", "counts"):
        hits = (jnp.asarray(slot)[index][:, None] == jnp.arange(params["size"])[None, :]).sum(0)
        return hits.astype(jnp.float64) / shots if kind == "probs" else hits.astype(jnp.int64)
    per_shot = [jnp.asarray(column)[index] for column in columns]
    if kind == "expval":
        return jnp.mean(per_shot[0])
    if kind == "var":
        mean = jnp.mean(per_shot[0])
        return jnp.mean(per_shot[0] ** 2) - mean**2
    dtype = jnp.dtype(params["dtype"])
    if listed:
        return jnp.stack([p.astype(dtype) for p in per_shot], axis=1)
    return per_shot[0].astype(dtype)


def _static_slot(values, slots) -> int:
    rule, data = slots
    if rule == "values":
        return data.index(float(values[0]))
    index = 0
    for v, one in zip(values, data):
        index = index * 2 + int(float(v) == one)
    return index
