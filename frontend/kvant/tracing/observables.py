"""PennyLane observables → a static description plus array operands.

The description is a nested tuple that JAX can hash as a primitive parameter:

* ``("named", name, wire)`` — a single-wire observable of the runtime's table;
* ``("tensor", (desc, ...))`` — a tensor product of observables on distinct wires;
* ``("hermitian", k, wires)`` — a Hermitian matrix, the k-th operand;
* ``("hamiltonian", k, (desc, ...))`` — ``sum_i c_i O_i`` with coefficients the k-th operand.

Identities are dropped from tensor products (``Z(0) @ I([1, 2])`` is ``Z(0)``); an identity
alone, on any number of wires, is ``I`` on one of them (its value is 1 whatever the state).
Observables without a form of their own (``Projector``, ``SparseHamiltonian``, a product whose
factors share wires, any other Hermitian operator with a matrix) are measured as their Hermitian
matrix, on at most ``MAX_MATRIX_WIRES`` wires.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml

from kvant.errors import UnsupportedError

NAMED_OBSERVABLES = ("Identity", "PauliX", "PauliY", "PauliZ", "Hadamard")

#: Observables measured as their matrix act on at most this many wires (a 2^8 x 2^8 complex
#: matrix is 1 MiB of constant data in the compiled program).
MAX_MATRIX_WIRES = 8


def describe(obs, wire_index) -> tuple[tuple, list]:
    """Return ``(description, operands)`` for a PennyLane observable."""
    operands: list = []

    def visit(o):
        if o.name == "Identity":
            # Hamiltonian terms simplify constants to a wire-less I(); ⟨I⟩ = 1 on any wire.
            return ("named", "Identity", wire_index(o.wires[0]) if len(o.wires) else 0)
        if o.name in NAMED_OBSERVABLES and len(o.wires) == 1:
            return ("named", o.name, wire_index(o.wires[0]))
        if isinstance(o, qml.ops.Prod):
            factors = [f for f in _factors(o) if f.name != "Identity"]
            if not factors:
                return visit(o.operands[0])
            wires = [w for f in factors for w in f.wires]
            if len(set(wires)) == len(wires):
                if len(factors) == 1:
                    return visit(factors[0])
                return ("tensor", tuple(visit(f) for f in factors))
            # factors that share wires: their product is measured as one matrix
        if isinstance(o, qml.Hermitian):
            operands.append(jnp.asarray(o.data[0], dtype=jnp.complex128))
            return ("hermitian", len(operands) - 1, tuple(wire_index(w) for w in o.wires))
        if isinstance(o, (qml.ops.Sum, qml.ops.SProd, qml.ops.LinearCombination)):
            coeffs, terms = zip(*_linear_terms(o))
            operands.append(jnp.stack([jnp.asarray(c, dtype=jnp.float64) for c in coeffs]))
            k = len(operands) - 1
            return ("hamiltonian", k, tuple(visit(t) for t in terms))
        operands.append(jnp.asarray(_hermitian_matrix(o)))
        return ("hermitian", len(operands) - 1, tuple(wire_index(w) for w in o.wires))

    return visit(obs), operands


def sampling_form(obs):
    """``obs``, or an equal ``qml.Hermitian`` when PennyLane gives no diagonalizing gates for it
    (``SparseHamiltonian``): sampling rotates into the observable's eigenbasis."""
    try:
        with qml.QueuingManager.stop_recording():
            obs.diagonalizing_gates()
        return obs
    except qml.operation.DiagGatesUndefinedError:
        with qml.QueuingManager.stop_recording():
            return qml.Hermitian(_hermitian_matrix(obs), wires=obs.wires)


def _factors(prod):
    """The factors of a product, nested products flattened."""
    for f in prod.operands:
        if isinstance(f, qml.ops.Prod):
            yield from _factors(f)
        else:
            yield f


def _hermitian_matrix(o):
    """The matrix (NumPy) of an observable without a form of its own, in the order of its
    wires; an operator kvant cannot measure exactly this way is refused by name."""
    what = f"{o.name} on wires {o.wires.tolist()}"
    if any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(o.data)):
        raise UnsupportedError(
            f"kvant cannot measure {o.name} with parameters computed from the arguments "
            "(a qml.Hermitian matrix may be)"
        )
    if len(o.wires) == 0 or len(o.wires) > MAX_MATRIX_WIRES:
        raise UnsupportedError(
            f"kvant cannot measure the observable {what}: kvant measures it as its matrix, on "
            f"1 to {MAX_MATRIX_WIRES} wires, and it acts on {len(o.wires)}"
        )
    try:
        if isinstance(o, qml.SparseHamiltonian):
            matrix = o.sparse_matrix(wire_order=o.wires).toarray()
        else:
            matrix = qml.matrix(o, wire_order=o.wires)
    except Exception as exc:  # PennyLane raises MatrixUndefinedError and others
        raise UnsupportedError(
            f"kvant cannot measure the observable {what}: it has no matrix"
        ) from exc
    matrix = np.asarray(matrix, dtype=np.complex128)
    scale = max(1.0, float(np.max(np.abs(matrix))))
    if not np.allclose(matrix, matrix.conj().T, rtol=0, atol=1e-10 * scale):
        raise UnsupportedError(
            f"kvant cannot measure {what}: its matrix is not Hermitian, so it is no observable"
        )
    return matrix


def _linear_terms(o):
    """``[(coefficient, operator), ...]`` of a sum-like observable, expanded without
    PennyLane's ``terms()``: its simplification compares coefficients with constants, which
    fails when they are traced values."""
    if isinstance(o, qml.ops.LinearCombination):
        return [(c * c2, t2) for c, t in zip(o.coeffs, o.ops) for c2, t2 in _linear_terms(t)]
    if isinstance(o, qml.ops.Sum):
        return [pair for operand in o.operands for pair in _linear_terms(operand)]
    if isinstance(o, qml.ops.SProd):
        return [(o.scalar * c, t) for c, t in _linear_terms(o.base)]
    return [(1.0, o)]
