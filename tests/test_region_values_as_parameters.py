"""Values computed by control flow inside a QNode (a qml.cond choosing an angle, a loop carrying
one) are differentiable functions of the arguments, whether or not the region applies gates:
gradients against default.qubit with both quantum differentiation methods (issue R1)."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

jax.config.update("jax_enable_x64", True)


def classical_cond(x, y):
    qml.RX(x[0], 0)
    v = qml.cond(y >= 0.1, lambda: y, lambda: jnp.log1p(x[1]) * x[1])()
    qml.IsingXY(v, wires=[0, 1])
    qml.RY(v * x[0], wires=1)
    return qml.expval(qml.PauliZ(0) @ qml.PauliX(1))


def quantum_cond(x, y):
    def big():
        qml.RY(y, wires=1)
        return y * 2.0

    def small():
        qml.CNOT(wires=[0, 1])
        return x[1] ** 2

    qml.Hadamard(0)
    v = qml.cond(y > 0.3, big, small)()
    qml.CRX(v, wires=[0, 1])
    qml.RZ(v + x[0], wires=1)
    qml.RX(x[0], wires=1)
    return qml.expval(qml.PauliY(1))


def loop_carry(x, y):
    @qml.for_loop(0, 3, 1)
    def loop(i, a):
        qml.RX(a, wires=i % 2)
        return a * x[1] + y

    a = loop(x[0])
    qml.RY(a, wires=0)
    qml.CNOT(wires=[0, 1])

    @qml.while_loop(lambda b, k: k < 2)
    def grow(b, k):
        qml.RZ(b, wires=1)
        qml.Hadamard(wires=1)
        return jnp.sin(b) + y, k + 1

    b, _ = grow(a, 0)
    qml.RX(b, wires=1)
    return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
@pytest.mark.parametrize("circuit", [classical_cond, quantum_cond, loop_carry])
def test_gradient_through_values_of_control_flow(circuit, diff_method):
    ref = qml.QNode(circuit, qml.device("default.qubit", wires=2))
    ours = qml.QNode(circuit, qml.device("lightning.qubit", wires=2), diff_method=diff_method)

    @qml.qjit(compiler="kvant")
    def gradient(x, y):
        return qml.grad(ours, argnums=(0, 1))(x, y)

    for y in (0.05, 0.5):
        x = jnp.array([0.3, 0.7])
        got = gradient(x, y)
        want = jax.grad(ref, argnums=(0, 1))(x, y)
        assert abs(float(want[1])) + float(jnp.abs(want[0]).sum()) > 1e-3  # not trivially zero
        np.testing.assert_allclose(got[0], want[0], atol=1e-8)
        np.testing.assert_allclose(got[1], want[1], atol=1e-8)
