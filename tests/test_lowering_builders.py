"""The frontend builds the ops of kvant's dialects with the op classes generated from the
dialects' ``.td`` files (``kvant.dialects.quantum`` / ``.gradient``), never generically by name.

An op built by name, with hand-made ``operandSegmentSizes``, keeps lowering when an operand or
attribute is renamed or reordered in the ``.td`` file, and the mistake shows only as IR the
dialect rejects; the generated classes take operands and attributes by their ``.td`` names.
The programs below reach every rule of ``lowering/rules/quantum.py`` and the ``gradient.grad``
and ``quantum.set_seed`` rules, each option included (adjoint, controls, run-time wires, reset,
postselection, shots, fd step, values and auxiliary outputs).
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest
from mlir import ir

import kvant
from kvant import _mlir
from kvant.lowering import lower_program
from kvant.tracing.context import TracingContext


@qml.qnode(qml.device("kvant.qubit", wires=3))
def _gates(x, w):
    qml.BasisState(np.array([1, 0, 0]), wires=[0, 1, 2])
    qml.RX(x, wires=0)
    qml.adjoint(qml.RY(x, wires=1))
    qml.ctrl(qml.RZ, control=[0, 2], control_values=[1, 0])(x, wires=1)
    qml.CNOT(wires=[0, 1])
    qml.QubitUnitary(np.eye(2), wires=2)
    qml.RX(x, wires=w)
    return (
        qml.expval(qml.PauliZ(0) @ qml.PauliX(1)),
        qml.var(qml.PauliY(2)),
        qml.expval(qml.Hermitian(np.eye(2), wires=0)),
        qml.expval(qml.Hamiltonian([0.5, 0.2], [qml.PauliZ(0), qml.PauliX(1)])),
        qml.probs(wires=[0, 1]),
    )


@qml.qnode(qml.device("kvant.qubit", wires=2))
def _state(x):
    qml.StatePrep(np.array([1.0, 0, 0, 0]), wires=[0, 1])
    qml.RX(x, wires=0)
    return qml.state()


@qml.set_shots(20)
@qml.qnode(qml.device("kvant.qubit", wires=2, seed=11))
def _shots(x):
    qml.RX(x, wires=0)
    return qml.sample(wires=[0, 1]), qml.counts(wires=[0])


@qml.set_shots(10)
@qml.qnode(qml.device("kvant.qubit", wires=2), mcm_method="one-shot")
def _measurements(x, w):
    qml.RX(x, wires=0)
    qml.measure(0, reset=True)
    qml.measure(w, postselect=0)
    return qml.expval(qml.PauliZ(1))


PROGRAMS = {
    "gates, measurements, observables": lambda x: _gates(x, jnp.int32(x > 0)),
    "state preparation, state": _state,
    "shots, seed": _shots,
    "mid-circuit measurements": lambda x: _measurements(x, jnp.int32(x > 0)),
    "grad": lambda x: kvant.grad(lambda y: jnp.sin(_gates(y, 2)[1]))(x),
    "grad fd with step": lambda x: kvant.grad(lambda y: _gates(y, 1)[0], method="fd", h=1e-6)(x),
    "value_and_grad, has_aux": lambda x: kvant.value_and_grad(
        lambda y: (_gates(y, 0)[0], y), has_aux=True
    )(x),
}

#: ops of kvant's dialects each program must contain (so that the check below has something to
#: check)
EXPECTED = {
    "gates, measurements, observables": {
        "quantum.alloc",
        "quantum.basis_state",
        "quantum.custom",
        "quantum.unitary",
        "quantum.extract",
        "quantum.insert",
        "quantum.namedobs",
        "quantum.tensorobs",
        "quantum.hermitian",
        "quantum.hamiltonian",
        "quantum.expval",
        "quantum.var",
        "quantum.probs",
        "quantum.dealloc",
    },
    "state preparation, state": {"quantum.state_prep", "quantum.state"},
    "shots, seed": {"quantum.set_seed", "quantum.sample", "quantum.counts"},
    "mid-circuit measurements": {"quantum.measure"},
    "grad": {"gradient.grad"},
    "grad fd with step": {"gradient.grad"},
    "value_and_grad, has_aux": {"gradient.grad"},
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_kvant_ops_are_built_by_their_generated_classes(name, monkeypatch):
    by_name = []
    create = ir.Operation.create

    def recording_create(op_name, *args, **kwargs):
        by_name.append(op_name)
        return create(op_name, *args, **kwargs)

    monkeypatch.setattr(ir.Operation, "create", staticmethod(recording_create))
    with TracingContext.tracing():
        closed = jax.make_jaxpr(lambda x: [PROGRAMS[name](x)])(jax.ShapeDtypeStruct((), np.float64))
    module = lower_program(closed, "f", _mlir.shared_context())  # verifies the module

    built = set(re.findall(r"\b((?:quantum|gradient)\.[a-z_]+)\b", str(module)))
    assert EXPECTED[name] <= built
    generic = [n for n in by_name if n.startswith(("quantum.", "gradient."))]
    assert not generic, f"ops of kvant's dialects built by name: {sorted(set(generic))}"


def test_the_qnode_attribute_is_built_by_the_dialect_and_verified():
    """``#quantum.node`` comes from the dialect's constructor (through kvant's extension), not
    from text: its fields print as given, and a field the verifier rejects is a ValueError with
    the verifier's message."""
    build = _mlir.extension().quantum_node_attr
    context = _mlir.shared_context()
    node = build(context, "kvant.qubit", "adjoint", ["expval", "probs"], 0)
    assert str(node) == (
        '#quantum.node<device = "kvant.qubit", diffMethod = "adjoint", '
        'measurements = ["expval", "probs"]>'
    )
    assert "shots = 100" in str(build(context, 'odd "name"', "best", ["sample"], 100))
    with pytest.raises(ValueError, match='unknown diffMethod "backprop"'):
        build(context, "kvant.qubit", "backprop", ["expval"], 0)
    with pytest.raises(ValueError, match="unknown measurement"):
        build(context, "kvant.qubit", "best", ["expectation"], 0)
    with pytest.raises(ValueError, match="shots must be positive"):
        build(context, "kvant.qubit", "best", ["sample"], -3)
