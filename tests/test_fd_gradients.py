"""Finite-difference gradients (method="fd") of compiled hybrid programs, against closed forms
and PennyLane default.qubit + jax.grad."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

DEVICES = ["kvant.qubit", "lightning.qubit", "default.qubit"]


def rx_expval_z(device_name):
    @qml.qnode(qml.device(device_name, wires=1))
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    return circuit


@pytest.mark.parametrize("device_name", DEVICES)
@pytest.mark.parametrize("x", [-2.1, 0.0, 0.4, 1.0, 2.5])
def test_rx_gradient_kvant_qjit(device_name, x):
    circuit = rx_expval_z(device_name)

    @kvant.qjit
    def dcircuit(x):
        return kvant.grad(circuit, method="fd")(x)

    assert abs(float(dcircuit(x)) - (-np.sin(x))) < 1e-6


@pytest.mark.parametrize("x", [-2.1, 0.4, 1.0, 2.5])
def test_rx_gradient_pennylane_qjit(x):
    circuit = rx_expval_z("lightning.qubit")

    @qml.qjit(compiler="kvant")
    def dcircuit(x):
        return qml.grad(circuit, method="fd")(x)

    assert abs(float(dcircuit(x)) - (-np.sin(x))) < 1e-6


def test_pennylane_qjit_forwards_h_and_argnums():
    """qml.grad(..., argnums=1, h=0.1) reaches kvant: a one-sided step of 0.1 is visible."""
    circuit = rx_expval_z("default.qubit")

    @qml.qjit(compiler="kvant")
    def dcircuit(a, x):
        return qml.grad(lambda a, x: a * circuit(x), method="fd", h=0.1, argnums=1)(a, x)

    x = 2.0
    expected = (np.cos(x + 0.1) - np.cos(x)) / 0.1
    assert abs(float(dcircuit(1.0, x)) - expected) < 1e-9


def test_one_sided_forward_difference():
    """A3 of docs/acceptance-gradients.md: method="fd", h=0.1 is (f(x+h) - f(x)) / h, not a
    central difference."""

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliY(0))

    @kvant.qjit
    def dcircuit(x):
        return kvant.grad(circuit, method="fd", h=0.1)(x)

    assert abs(float(dcircuit(2.0)) - 0.4608806018) < 1e-9


def test_default_step_is_the_documented_one_inside_and_outside_qjit():
    """h defaults to 1e-7 (docs/grad-semantics.md) on both paths: the forward difference of x**2
    is 2x + h exactly, and at x = 0.5 rounding stays near 1e-9, well under the h to be seen."""

    def square(x):
        return x**2

    compiled = kvant.qjit(kvant.grad(square, method="fd"))
    eager = kvant.grad(square, method="fd")
    for value in (float(compiled(0.5)), float(eager(0.5))):
        assert abs(value - (1.0 + 1e-7)) < 1e-8
    # the compiled op carries its step: the compiler has no default of its own
    step = re.search(r"finiteDiffParam = (\S+) : f64", compiled.mlir)
    assert step is not None and float(step.group(1)) == 1e-7


def reference_circuit(device_name):
    @qml.qnode(qml.device(device_name, wires=3))
    def circuit(weights, y):
        qml.RX(weights[0], wires=0)
        qml.RY(weights[1] * y, wires=1)
        qml.RZ(weights[2], wires=2)
        qml.Hadamard(wires=2)
        qml.CNOT(wires=[0, 1])
        qml.CNOT(wires=[1, 2])
        qml.RY(jnp.sin(y), wires=0)
        return qml.expval(qml.PauliZ(0) @ qml.PauliX(2)), qml.expval(qml.PauliY(1))

    return circuit


def cost_with(circuit):
    def cost(weights, y):
        a, b = circuit(weights, y)
        return jnp.exp(a) * b + jnp.sum(weights**2) * y

    return cost


@pytest.mark.parametrize(
    "weights, y",
    [(np.array([0.1, -0.7, 1.3]), 0.4), (np.array([2.0, 0.3, -1.1]), -1.7)],
)
def test_two_argument_array_program_matches_default_qubit(weights, y):
    kvant_cost = cost_with(reference_circuit("kvant.qubit"))
    ref_cost = cost_with(reference_circuit("default.qubit"))

    @kvant.qjit
    def gradient(weights, y):
        return kvant.grad(kvant_cost, argnums=[0, 1], method="fd", h=1e-7)(weights, y)

    dw, dy = gradient(weights, y)
    ref_dw, ref_dy = jax.grad(ref_cost, argnums=(0, 1))(jnp.asarray(weights), jnp.asarray(y))
    assert dw.shape == (3,) and dy.shape == ()
    np.testing.assert_allclose(dw, ref_dw, atol=1e-5)
    np.testing.assert_allclose(dy, ref_dy, atol=1e-5)


def test_jacobian_of_vector_output_matches_jax():
    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def circuit(x):
        qml.RX(x[0], wires=0)
        qml.RY(x[1], wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.probs(wires=[0, 1])

    @qml.qnode(qml.device("default.qubit", wires=2))
    def reference(x):
        qml.RX(x[0], wires=0)
        qml.RY(x[1], wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.probs(wires=[0, 1])

    @kvant.qjit
    def jac(x):
        return kvant.jacobian(circuit, method="fd")(x)

    x = np.array([0.3, -1.2])
    result = jac(x)
    assert result.shape == (4, 2)
    np.testing.assert_allclose(result, jax.jacobian(reference)(jnp.asarray(x)), atol=1e-5)


def test_gradient_of_pytree_argument():
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(params):
        qml.RX(params["x"], wires=0)
        qml.RY(params["y"], wires=0)
        return qml.expval(qml.PauliZ(0))

    @kvant.qjit
    def gradient(params):
        return kvant.grad(circuit, method="fd")(params)

    g = gradient({"x": 0.4, "y": -0.9})
    # <Z> = cos x cos y
    assert abs(float(g["x"]) - (-np.sin(0.4) * np.cos(-0.9))) < 1e-6
    assert abs(float(g["y"]) - (-np.cos(0.4) * np.sin(-0.9))) < 1e-6


def test_purely_classical_gradient():
    @kvant.qjit
    def gradient(x):
        return kvant.grad(lambda x: x**2, method="fd")(x)

    assert abs(float(gradient(2.3)) - 4.6) < 1e-5


def test_value_and_grad_keeps_each_calls_own_value_when_calls_overlap():
    """A call that re-enters the same value_and_grad object (here from inside the function it
    differentiates) must not hand the inner call's value to the outer one."""
    evaluations = []

    def f(x):
        evaluations.append(x)
        if len(evaluations) == 2:  # during the outer call's first difference
            inner_value, inner_gradient = vg(0.25)
            assert abs(float(inner_value) - np.sin(0.25)) < 1e-12
            assert abs(float(inner_gradient) - np.cos(0.25)) < 1e-5
        return jnp.sin(x)

    vg = kvant.value_and_grad(f, method="fd", h=1e-6)
    value, gradient = vg(1.0)
    assert len(evaluations) == 4  # the outer call's two, the inner call's two
    assert abs(float(value) - np.sin(1.0)) < 1e-12
    assert abs(float(gradient) - np.cos(1.0)) < 1e-5
    assert abs(float(vg.forward) - np.sin(1.0)) < 1e-12  # the last call to return


def test_grad_outside_qjit_evaluates_eagerly_with_forward():
    circuit = rx_expval_z("default.qubit")
    g = kvant.grad(circuit)
    assert g.forward is None
    assert abs(float(g(0.3)) + np.sin(0.3)) < 1e-12  # exact, through JAX
    assert abs(float(g.forward) - np.cos(0.3)) < 1e-12
    g_fd = kvant.grad(circuit, method="fd", h=1e-3)
    assert abs(float(g_fd(0.3)) - (np.cos(0.301) - np.cos(0.3)) / 1e-3) < 1e-9  # one-sided
    jac = kvant.jacobian(lambda x: jnp.stack([x**2, jnp.sin(x)]))(0.5)
    np.testing.assert_allclose(jac, [1.0, np.cos(0.5)], atol=1e-12)
