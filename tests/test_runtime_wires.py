"""Gates PennyLane decomposes, on wires known only at run time (the fuzzer's most frequent
refusal): decomposed on stand-in labels, the parts applied on the run-time wires. Against
default.qubit, values and derivatives."""

import jax
import numpy as np
import pennylane as qml
import pytest

import kvant

jax.config.update("jax_enable_x64", True)


def circuit(x, n):
    qml.Hadamard(0)
    qml.RY(0.4, wires=1)
    qml.U3(x, 0.2, 0.1, wires=n % 2)
    qml.PSWAP(x, wires=[n % 2, (n + 1) % 2])
    qml.adjoint(qml.U2)(x, 0.3, wires=(n + 1) % 3)
    qml.ctrl(qml.U1(x, wires=n % 3), control=(n + 2) % 3)
    qml.SingleExcitationPlus(x * 0.5, wires=[(n + 2) % 3, n % 3])
    return qml.expval(qml.PauliZ(0) @ qml.PauliX(2) + 0.3 * qml.PauliY(1))


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_decomposed_gates_on_run_time_wires(diff_method):
    ours = qml.QNode(circuit, qml.device("kvant.qubit", wires=3), diff_method=diff_method)
    ref = qml.QNode(circuit, qml.device("default.qubit", wires=3))
    value = kvant.qjit(ours)
    gradient = kvant.qjit(kvant.grad(ours))
    for n in (0, 1, 2):
        for x in (0.7, -1.9):
            np.testing.assert_allclose(value(x, n), ref(x, n), atol=1e-10)
            np.testing.assert_allclose(gradient(x, n), jax.grad(ref)(x, n), atol=1e-8)
