"""Observables whose coefficients are traced values: ``qml.Hamiltonian(k, ops)``, ``qml.dot(k,
ops)``, ``k * O``, sums and products of such terms, with ``k`` computed from the program's
arguments; Hermitian matrices computed from the arguments (as their Pauli decomposition, whose
coefficients are traced); and observables on wires known only at run time, ``qml.PauliZ(z)``,
which are the sum ``Σ_k [z = k] PauliZ(k)`` over the register's wires, with traced
coefficients.

The derivative passes differentiate a QNode's results with respect to its gate parameters only,
so a coefficient that travels into the circuit as measurement data gets no derivative. Instead,
the QNode measures static observables only, and the coefficients combine their values in the
calling program, where classical AD differentiates them:

* ``⟨Σ c_i O_i⟩ = Σ_i c_i ⟨O_i⟩``;
* ``Var(H) = ⟨H²⟩ − ⟨H⟩²`` with ``⟨H²⟩ = Σ_ij c_i c_j ⟨O_i O_j⟩``. With every term a sum of Pauli
  words ``O_i = Σ_w b_iw w``, ``O_i O_j`` is again such a sum; the imaginary parts of the word
  coefficients cancel between ``O_i O_j`` and ``O_j O_i`` (``(O_i O_j)† = O_j O_i``), so
  ``⟨H²⟩ = Σ_w ⟨w⟩ cᵀ A_w c`` with ``A_w[i, j] = Re (O_i O_j)_w``: one expectation value per
  distinct word, exact. Terms without a Pauli form use the Hermitian ``(O_i O_j + O_j O_i)/2``.

The coefficients are values of the QNode's own trace: they leave it as extra outputs, which
``split_classical_outputs`` evaluates in the calling trace and removes from the QNode body.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
from jax._src import core as jax_core
from jax._src.interpreters import partial_eval as pe

from kvant.errors import UnsupportedError

#: Terms on at most this many wires without a Pauli form of their own are decomposed into Pauli
#: words from their matrix (4^n words).
_MAX_DECOMPOSED_WIRES = 3


def _is_traced(value) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(value))


def _linear_types():
    return (qml.ops.Sum, qml.ops.SProd, qml.ops.LinearCombination)


def has_traced_coefficients(obs) -> bool:
    """Whether a coefficient of a sum, scalar product or product of observables is traced."""
    if isinstance(obs, qml.ops.LinearCombination):
        return _is_traced(obs.coeffs) or any(has_traced_coefficients(o) for o in obs.ops)
    if isinstance(obs, qml.ops.SProd):
        return _is_traced(obs.scalar) or has_traced_coefficients(obs.base)
    if isinstance(obs, (qml.ops.Sum, qml.ops.Prod)):
        return any(has_traced_coefficients(o) for o in obs.operands)
    return _traced_hermitian(obs)


def _traced_hermitian(obs) -> bool:
    """A Hermitian matrix computed from the arguments, on few enough wires to be measured as
    its Pauli decomposition ``M = Σ_w m_w w`` with traced ``m_w = Re tr(w M) / 2^n``."""
    return (
        isinstance(obs, qml.Hermitian)
        and _is_traced(obs.data)
        and len(obs.wires) <= _MAX_DECOMPOSED_WIRES
    )


_PAULI_MATRICES = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1, -1]),
}


def _pauli_terms_of_matrix(obs) -> list[tuple]:
    matrix = jnp.asarray(obs.data[0])
    n = len(obs.wires)
    pairs = []
    for letters in itertools.product("IXYZ", repeat=n):
        word = np.ones((1, 1))
        for letter in letters:
            word = np.kron(word, _PAULI_MATRICES[letter])
        # Re tr(word M) / 2^n, in real arithmetic when M is real
        coefficient = jnp.sum(np.real(word.T) * jnp.real(matrix))
        if jnp.iscomplexobj(matrix):
            coefficient = coefficient - jnp.sum(np.imag(word.T) * jnp.imag(matrix))
        coefficient = coefficient / 2**n
        pauli = qml.pauli.PauliWord({w: c for w, c in zip(obs.wires, letters) if c != "I"})
        with qml.QueuingManager.stop_recording():
            pairs.append((coefficient, pauli.operation()))
    return pairs


def has_run_time_wires(obs) -> bool:
    """Whether the observable acts on a wire known only at run time (a traced index)."""
    return any(isinstance(w, jax.core.Tracer) for w in obs.wires)


def combined_in_caller(obs) -> bool:
    """Whether ``obs`` is measured as static terms combined in the calling program: traced
    coefficients, or a wire known only at run time (``O(z) = Σ_k [z = k] O(k)``, its one-hot
    selection being the traced coefficients)."""
    return has_traced_coefficients(obs) or has_run_time_wires(obs)


def expand(obs, wire_labels) -> list[tuple]:
    """``[(coefficient, term), ...]`` with ``obs = Σ coefficient · term``: sums flattened, scalar
    factors moved into the coefficients, products distributed over sums, an observable on a
    run-time wire spread over the register's wires (``wire_labels``). Coefficients may be
    traced; terms carry no coefficient and act on static wires. Built without PennyLane's
    ``terms()``, whose simplification compares coefficients with constants, which fails on
    traced values."""
    if isinstance(obs, qml.ops.LinearCombination):
        return [
            (c * c2, t) for c, o in zip(obs.coeffs, obs.ops) for c2, t in expand(o, wire_labels)
        ]
    if isinstance(obs, qml.ops.Sum):
        return [pair for operand in obs.operands for pair in expand(operand, wire_labels)]
    if isinstance(obs, qml.ops.SProd):
        return [(obs.scalar * c, t) for c, t in expand(obs.base, wire_labels)]
    if isinstance(obs, qml.ops.Prod) and (
        has_run_time_wires(obs)
        or any(
            isinstance(f, _linear_types() + (qml.ops.Prod,)) or has_traced_coefficients(f)
            for f in obs.operands
        )
    ):
        pairs = []
        for combination in itertools.product(*(expand(f, wire_labels) for f in obs.operands)):
            coefficient = 1.0
            for c, _ in combination:
                coefficient = coefficient * c
            factors = [t for _, t in combination]
            if has_run_time_wires(obs) and _overlap(factors):
                # run-time wires that coincide: factors on one wire, whose product is not
                # Hermitian (no observable); NaN in the result when this combination is selected
                with qml.QueuingManager.stop_recording():
                    pairs.append((jnp.where(coefficient != 0, jnp.nan, 0.0), qml.Identity(())))
                continue
            with qml.QueuingManager.stop_recording():
                term = qml.prod(*factors)
            pairs.append((coefficient, term))
        return pairs
    if has_run_time_wires(obs):
        return _on_every_wire(obs, wire_labels)
    if _traced_hermitian(obs):
        return _pauli_terms_of_matrix(obs)
    if _is_traced(obs.data):
        raise UnsupportedError(
            f"kvant cannot measure {obs.name} with parameters computed from the arguments; "
            "it measures Hermitian matrices and coefficients of sums computed from them"
        )
    return [(1.0, obs)]


def _overlap(factors) -> bool:
    wires = [w for f in factors for w in f.wires]
    return len(set(wires)) != len(wires)


#: Observables measured on a wire known only at run time
_RUN_TIME_WIRE_OBSERVABLES = ("PauliX", "PauliY", "PauliZ", "Hadamard", "Identity")


def _on_every_wire(obs, wire_labels) -> list[tuple]:
    """``O(z) = Σ_k [z = k] O(k)``; an index outside the register selects NaN."""
    if obs.name not in _RUN_TIME_WIRE_OBSERVABLES or len(obs.wires) != 1:
        raise UnsupportedError(
            f"kvant cannot measure {obs.name} on wires computed at run time; it measures "
            f"{', '.join(_RUN_TIME_WIRE_OBSERVABLES)} there, and sums and products of them"
        )
    index = jnp.asarray(obs.wires[0])
    valid = (index >= 0) & (index < len(wire_labels))
    pairs = []
    for k, label in enumerate(wire_labels):
        selected = jnp.where(valid, (index == k).astype(jnp.float64), jnp.nan)
        with qml.QueuingManager.stop_recording():
            pairs.append((selected, type(obs)(wires=label)))
    return pairs


def _pauli_form(term):
    """The term as a ``PauliSentence`` with constant coefficients, or ``None``."""
    rep = term.pauli_rep
    if rep is not None:
        return rep
    if len(term.wires) == 0 or len(term.wires) > _MAX_DECOMPOSED_WIRES:
        return None
    try:
        matrix = qml.matrix(term, wire_order=term.wires)
    except Exception:  # PennyLane raises MatrixUndefinedError and others
        return None
    return qml.pauli_decompose(matrix, wire_order=term.wires, pauli=True)


class Deferred:
    """A measurement value completed in the calling program: ``combine(measured, coefficients)``
    with ``measured`` the expectation values the circuit returns and ``coefficients`` a traced
    array (the coefficient vector)."""

    def __init__(self, measured, coefficients, combine, null=0.0, kind="expval"):
        self.measured = list(measured)
        self.coefficients = coefficients
        self.combine = combine
        #: what the measured values are (qnode_p's measurement kinds): expectation values, or
        #: "probs" for a distribution completed by the caller
        self.kind = kind
        # null.qubit's value (device_support); None: combine's value (nothing is measured)
        self.null = None if null is None else np.asarray(null, np.float64)


def measure(obs, variance: bool, expval_of, wire_labels) -> Deferred:
    """``⟨obs⟩`` or ``Var(obs)`` of an observable with traced coefficients or run-time wires,
    from expectation values of static observables (``expval_of(observable)`` emits one in the
    circuit); ``wire_labels``: the register's wires."""
    pairs = expand(obs, wire_labels)
    coefficients = [jnp.asarray(c) for c, _ in pairs]
    if any(jnp.iscomplexobj(c) for c in coefficients):
        raise UnsupportedError("observable coefficients must be real, got a complex coefficient")
    coefficients = jnp.stack([c.astype(jnp.float64) for c in coefficients])
    terms = [t for _, t in pairs]
    forms = [_pauli_form(t) for t in terms]
    if all(f is not None for f in forms):
        return _measure_pauli(forms, variance, expval_of, coefficients)
    if not variance:
        measured = [expval_of(t) for t in terms]
        return Deferred(measured, coefficients, lambda e, c: jnp.dot(c, jnp.stack(e)))
    return _measure_pairs(terms, expval_of, coefficients)


def _measure_pauli(forms, variance, expval_of, coefficients) -> Deferred:
    words: dict = {}  # Pauli word -> column; the identity word's value is 1, not measured

    def column(word):
        return words.setdefault(word, len(words))

    n = len(forms)
    linear = {}  # (term, column) -> coefficient of the word in the term
    for i, form in enumerate(forms):
        for word, b in form.items():
            linear[(i, column(word))] = linear.get((i, column(word)), 0.0) + complex(b).real
    quadratic = {}  # (column, i, j) -> Re (O_i O_j)_w
    if variance:
        for i, j in itertools.product(range(n), repeat=2):
            for word, a in (forms[i] @ forms[j]).items():
                key = (column(word), i, j)
                quadratic[key] = quadratic.get(key, 0.0) + complex(a).real
    B = np.zeros((n, len(words)))
    for (i, k), b in linear.items():
        B[i, k] = b
    A = np.zeros((len(words), n, n))
    for (k, i, j), a in quadratic.items():
        A[k, i, j] = a
    identity = qml.pauli.PauliWord({})
    measured_words = [w for w in words if w != identity]
    with qml.QueuingManager.stop_recording():
        observables = [w.operation() for w in measured_words]
    measured = [expval_of(o) for o in observables]
    order = [words[w] for w in measured_words]
    identity_column = words.get(identity)

    def word_values(e):
        values = jnp.zeros(len(words), jnp.float64)
        if order:
            values = values.at[np.asarray(order)].set(jnp.stack(e))
        if identity_column is not None:
            values = values.at[identity_column].set(1.0)
        return values

    def combine(e, c):
        values = word_values(e)
        mean = jnp.dot(c, jnp.asarray(B) @ values)
        if not variance:
            return mean
        square = jnp.einsum("k,i,kij,j->", values, c, jnp.asarray(A), c)
        return square - mean**2

    return Deferred(measured, coefficients, combine)


def _measure_pairs(terms, expval_of, coefficients) -> Deferred:
    """Var of Σ c_i O_i for terms without a Pauli form: ⟨O_i⟩ and the Hermitian
    ``(O_i O_j + O_j O_i)/2`` of each pair, as matrices on the pair's wires."""
    n = len(terms)
    measured = [expval_of(t) for t in terms]
    pairs = list(itertools.combinations_with_replacement(range(n), 2))
    for i, j in pairs:
        wires = qml.wires.Wires.all_wires([terms[i].wires, terms[j].wires])
        product = qml.matrix(terms[i], wire_order=wires) @ qml.matrix(terms[j], wire_order=wires)
        with qml.QueuingManager.stop_recording():
            symmetric = qml.Hermitian((product + product.conj().T) / 2, wires=wires)
        measured.append(expval_of(symmetric))

    def combine(e, c):
        mean = jnp.dot(c, jnp.stack(e[:n]))
        square = 0.0
        for (i, j), value in zip(pairs, e[n:]):
            square = square + (1.0 if i == j else 2.0) * c[i] * c[j] * value
        return square - mean**2

    return Deferred(measured, coefficients, combine)


class DeferredOutputs:
    """The deferred measurements of one QNode: their measured values stay the QNode's outputs,
    their coefficient vectors become extra outputs, evaluated by the caller."""

    def __init__(self):
        self._deferred: dict[int, Deferred] = {}  # position among the measurements -> value

    def add(self, position: int, value):
        """The QNode output standing for measurement ``position``: a deferred value's measured
        list, any other value unchanged."""
        if not isinstance(value, Deferred):
            return value
        self._deferred[position] = value
        return value.measured

    def null_values(self, classical: list) -> dict:
        """Position -> the value of each deferred measurement on null.qubit (``classical``: the
        coefficient vectors, evaluated by the caller)."""
        return {
            position: d.combine([], c) if d.null is None else d.null
            for (position, d), c in zip(self._deferred.items(), classical)
        }

    def classical_outputs(self) -> list:
        return [d.coefficients for d in self._deferred.values()]

    def complete(self, values: list, classical: list) -> list:
        """The measurement values with each deferred one combined from its measured values and
        its coefficients (in the calling trace)."""
        values = list(values)
        for (position, deferred), coefficients in zip(self._deferred.items(), classical):
            values[position] = deferred.combine(list(values[position]), coefficients)
        return values


def split_classical_outputs(closed_jaxpr, num_classical: int, inputs: list, name: str):
    """Split the last ``num_classical`` outputs off a QNode body: return the body without them
    and their values, computed in the current trace from ``inputs`` (the body's inputs). They
    must not depend on the circuit (a mid-circuit measurement)."""
    if not num_classical:
        return closed_jaxpr, []
    jaxpr = closed_jaxpr.jaxpr
    targets = jaxpr.outvars[len(jaxpr.outvars) - num_classical :]
    needed = {v for v in targets if isinstance(v, jax_core.Var)}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        if not any(v in needed for v in eqn.outvars):
            continue
        if eqn.effects:
            raise UnsupportedError(
                f"QNode '{name}': an observable coefficient depends on a quantum operation (a "
                "mid-circuit measurement); kvant differentiates coefficients computed from the "
                "QNode's arguments only"
            )
        kept.append(eqn)
        needed.update(v for v in eqn.invars if isinstance(v, jax_core.Var))
    env = dict(zip(jaxpr.invars, inputs))

    def read(v):
        return v.val if isinstance(v, jax_core.Literal) else env[v]

    for eqn in reversed(kept):
        subfuns, params = eqn.primitive.get_bind_params(eqn.params)
        outs = eqn.primitive.bind(*subfuns, *(read(v) for v in eqn.invars), **params)
        if not eqn.primitive.multiple_results:
            outs = [outs]
        env.update(zip(eqn.outvars, outs))
    values = [read(v) for v in targets]
    num_quantum = len(jaxpr.outvars) - num_classical
    body, _ = pe.dce_jaxpr(
        jaxpr.replace(outvars=jaxpr.outvars[:num_quantum]), [True] * num_quantum, instantiate=True
    )
    return jax_core.ClosedJaxpr(body, closed_jaxpr.consts), values
