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
    # default.qubit differentiated by autograd (as in runtime/tests/python/
    # test_adjoint_reference.py): ~1 s here, where JAX op by op took ~16 s and jax.jit did not
    # finish compiling the 600 gates in 10 minutes.
    p = qml.numpy.array(params, requires_grad=True)
    assert kvant.qjit(ours)(params) == pytest.approx(float(theirs(p)), abs=1e-10)
    want = np.asarray(qml.grad(theirs)(p))
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


def _reference_expval(params, n):
    """<Z_0 Z_{W-1}> after layers(params, n), by an independent NumPy state vector (wire 0 the
    most significant bit, as in PennyLane)."""
    state = np.zeros(2**WIRES, complex)
    state[0] = 1.0
    state = state.reshape((2,) * WIRES)

    def apply(matrix, wires):
        nonlocal state
        k = len(wires)
        moved = np.moveaxis(state, wires, range(k))
        shaped = matrix.reshape((2,) * (2 * k))
        moved = np.tensordot(shaped, moved, axes=(range(k, 2 * k), range(k)))
        state = np.moveaxis(moved, range(k), wires)

    def rx(t):
        c, s = np.cos(t / 2), np.sin(t / 2)
        return np.array([[c, -1j * s], [-1j * s, c]])

    def ry(t):
        c, s = np.cos(t / 2), np.sin(t / 2)
        return np.array([[c, -s], [s, c]])

    cnot = np.eye(4)[[0, 1, 3, 2]]
    k = layer = r = 0
    while k < n:
        rotation = rx if layer % 2 == 0 else ry
        for w in range(WIRES):
            if k < n:
                apply(rotation(params[r]), [w])
                k += 1
                r += 1
        for w in range(WIRES - 1):
            if k < n:
                apply(cnot, [w, w + 1])
                k += 1
        layer += 1
    probs = np.abs(state.reshape(-1)) ** 2
    signs = np.array([(-1) ** ((i >> (WIRES - 1)) + (i & 1)) for i in range(2**WIRES)])
    return float(probs @ signs)


def test_huge_straight_line_functions_match_a_reference():
    """6000 gates: the circuit functions are single blocks of thousands of instructions, which
    codegen compiles without optimisation, split into blocks of at most 1024 instructions
    (mlir/lib/Target/LLVMIR.cpp). The value, and gradient entries spread over the whole circuit,
    against an independent NumPy simulation (central differences for the gradient)."""
    n = 6000
    params = np.random.default_rng(7).uniform(-np.pi, np.pi, n)
    circuit = straight(qml.device("kvant.qubit", wires=WIRES), n)
    assert kvant.qjit(circuit)(params) == pytest.approx(_reference_expval(params, n), abs=1e-10)
    value, grad = kvant.qjit(kvant.value_and_grad(circuit))(params)
    assert value == pytest.approx(_reference_expval(params, n), abs=1e-10)
    h = 1e-5
    rotations = 3 * (n // 5) + min(n % 5, 3)  # parameters the gates read
    for r in (0, 1, 2, 1000, 2501, rotations // 2, rotations - 2, rotations - 1):
        up, down = params.copy(), params.copy()
        up[r] += h
        down[r] -= h
        want = (_reference_expval(up, n) - _reference_expval(down, n)) / (2 * h)
        assert grad[r] == pytest.approx(want, abs=1e-7), r
    np.testing.assert_array_equal(grad[rotations:], 0.0)  # parameters no gate reads
