"""Long programs (issue 15): what the compile-time fixes rewrite — gate parameters read from
slices, more than 4096 gate parameters, long loop bodies with a dynamic row of parameters,
parameters shared by several gates — still give PennyLane default.qubit's values and
gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

WIRES = 3


def layers(p, n, row=None, share=None):
    """n gates: RX / RY layers (the r-th rotation with parameter p[r], p[row, r] or
    p[row, r % share]), then a CNOT chain, repeated."""
    k = layer = r = 0
    while k < n:
        rotation = qml.RX if layer % 2 == 0 else qml.RY
        for w in range(WIRES):
            if k < n:
                index = r if share is None else r % share
                rotation(p[index] if row is None else p[row, index], wires=w)
                k += 1
                r += 1
        for w in range(WIRES - 1):
            if k < n:
                qml.CNOT(wires=[w, w + 1])
                k += 1
        layer += 1


def straight(device, n, diff_method="best"):
    @qml.qnode(device, diff_method=diff_method)
    def circuit(p):
        layers(p, n)
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(WIRES - 1))

    return circuit


def test_more_than_4096_parameters_value_and_gradient():
    """4200 RX gates, 1400 per wire, each with its own parameter: <Z0 Z1 Z2> is the product of
    cos(S_w), S_w the sum of wire w's angles (closed form; default.qubit is too slow here)."""
    n = 4200

    @qml.qnode(qml.device("kvant.qubit", wires=WIRES))
    def circuit(p):
        for k in range(n):
            qml.RX(p[k], wires=k % WIRES)
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1) @ qml.PauliZ(2))

    params = np.random.default_rng(1).uniform(-0.01, 0.01, n) + 0.3 / n
    sums = np.array([params[w::WIRES].sum() for w in range(WIRES)])
    value = np.prod(np.cos(sums))
    want = np.empty(n)
    for w in range(WIRES):
        others = np.prod(np.cos(np.delete(sums, w)))
        want[w::WIRES] = -np.sin(sums[w]) * others
    assert kvant.qjit(circuit)(params) == pytest.approx(value, abs=1e-12)
    np.testing.assert_allclose(kvant.qjit(kvant.grad(circuit))(params), want, atol=1e-12)


def test_long_straight_program_matches_default_qubit():
    n = 600
    params = np.random.default_rng(3).uniform(-np.pi, np.pi, n)
    ours = straight(qml.device("kvant.qubit", wires=WIRES), n)
    theirs = straight(qml.device("default.qubit", wires=WIRES), n, diff_method="backprop")
    assert kvant.qjit(ours)(params) == pytest.approx(float(theirs(jnp.asarray(params))), abs=1e-10)
    want = np.asarray(jax.grad(theirs)(jnp.asarray(params)))
    np.testing.assert_allclose(kvant.qjit(kvant.grad(ours))(params), want, atol=1e-10)


@pytest.mark.parametrize("share", [None, 5])
def test_long_loop_body_value_and_gradient(share):
    n, iterations = 60, 3  # 36 rotations per iteration, from a dynamic row p[i]

    def looped(device, for_loop):
        @qml.qnode(device)
        def circuit(p):
            def body(i):
                layers(p, n, row=i, share=share)

            if for_loop is None:
                for i in range(iterations):
                    body(i)
            else:
                for_loop(0, iterations, 1)(lambda i, c: (body(i), c)[1])(0)
            return qml.expval(qml.PauliZ(0) @ qml.PauliZ(WIRES - 1))

        return circuit

    params = np.random.default_rng(2).uniform(-np.pi, np.pi, (iterations, n))
    ours = looped(qml.device("kvant.qubit", wires=WIRES), kvant.for_loop)
    theirs = looped(qml.device("default.qubit", wires=WIRES), None)
    assert kvant.qjit(ours)(params) == pytest.approx(float(theirs(jnp.asarray(params))), abs=1e-10)
    want = np.asarray(jax.grad(theirs)(jnp.asarray(params)))
    if share is not None:
        assert np.count_nonzero(want) == iterations * share  # shared parameters accumulate
    np.testing.assert_allclose(kvant.qjit(kvant.grad(ours))(params), want, atol=1e-10)
