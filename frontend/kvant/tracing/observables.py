"""PennyLane observables → a static description plus array operands.

The description is a nested tuple that JAX can hash as a primitive parameter:

* ``("named", name, wire)`` — a single-wire observable of the runtime's table;
* ``("tensor", (desc, ...))`` — a tensor product of observables on distinct wires;
* ``("hermitian", k, wires)`` — a Hermitian matrix, the k-th operand;
* ``("hamiltonian", k, (desc, ...))`` — ``sum_i c_i O_i`` with coefficients the k-th operand.
"""

from __future__ import annotations

import jax.numpy as jnp
import pennylane as qml

from kvant.errors import UnsupportedError

NAMED_OBSERVABLES = ("Identity", "PauliX", "PauliY", "PauliZ", "Hadamard")


def describe(obs, wire_index) -> tuple[tuple, list]:
    """Return ``(description, operands)`` for a PennyLane observable."""
    operands: list = []

    def visit(o):
        if o.name == "Identity" and len(o.wires) == 0:
            # Hamiltonian terms simplify constants to a wire-less I(); ⟨I⟩ = 1 on any wire.
            return ("named", "Identity", 0)
        if o.name in NAMED_OBSERVABLES and len(o.wires) == 1:
            return ("named", o.name, wire_index(o.wires[0]))
        if isinstance(o, qml.ops.Prod):
            return ("tensor", tuple(visit(f) for f in o.operands))
        if isinstance(o, qml.Hermitian):
            operands.append(jnp.asarray(o.data[0], dtype=jnp.complex128))
            return ("hermitian", len(operands) - 1, tuple(wire_index(w) for w in o.wires))
        if isinstance(o, (qml.ops.Sum, qml.ops.SProd, qml.ops.LinearCombination)):
            coeffs, terms = zip(*_linear_terms(o))
            operands.append(jnp.stack([jnp.asarray(c, dtype=jnp.float64) for c in coeffs]))
            k = len(operands) - 1
            return ("hamiltonian", k, tuple(visit(t) for t in terms))
        raise UnsupportedError(f"kvant cannot measure the observable {o!r} yet")

    return visit(obs), operands


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
