"""Realistic hybrid programs (variational, QAOA, chemistry-style), compiled by kvant and compared
with the same program on PennyLane default.qubit + JAX."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

rng = np.random.default_rng(7)


def strongly_entangling(dev):
    @qml.qnode(dev)
    def circuit(weights, x):
        qml.AngleEmbedding(x, wires=range(3))
        qml.StronglyEntanglingLayers(weights, wires=range(3))
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(2))

    return circuit, (rng.normal(size=(2, 3, 3)), rng.normal(size=3))


def basic_entangler(dev):
    @qml.qnode(dev)
    def circuit(weights):
        qml.BasicEntanglerLayers(weights, wires=range(3), rotation=qml.RY)
        return qml.probs(wires=[0, 2])

    return circuit, (rng.normal(size=(3, 3)),)


def qaoa_maxcut(dev):
    edges = [(0, 1), (1, 2), (2, 0)]
    cost_h = qml.Hamiltonian([0.5] * 3, [qml.PauliZ(a) @ qml.PauliZ(b) for a, b in edges])
    mixer_h = qml.Hamiltonian([1.0] * 3, [qml.PauliX(w) for w in range(3)])

    @qml.qnode(dev)
    def circuit(params):
        for w in range(3):
            qml.Hadamard(wires=w)
        for gamma, beta in params:
            qml.ApproxTimeEvolution(cost_h, gamma, 1)
            qml.ApproxTimeEvolution(mixer_h, beta, 1)
        return qml.expval(cost_h)

    return circuit, (rng.uniform(0, 1, size=(2, 2)),)


def excitations(dev):
    @qml.qnode(dev)
    def circuit(theta):
        qml.BasisState(np.array([1, 1, 0, 0]), wires=range(4))
        qml.DoubleExcitation(theta[0], wires=[0, 1, 2, 3])
        qml.SingleExcitation(theta[1], wires=[1, 2])
        return qml.expval(
            0.2 * qml.PauliZ(0)
            - 0.3 * qml.PauliZ(0) @ qml.PauliZ(1)
            + 0.1 * qml.PauliX(1) @ qml.PauliX(2)
        )

    return circuit, (np.array([0.4, -0.2]),)


def qft_and_templates(dev):
    @qml.qnode(dev)
    def circuit(x):
        qml.AmplitudeEmbedding(x, wires=range(2), normalize=True)
        qml.QFT(wires=range(2))
        qml.templates.RandomLayers(np.array([[0.3, -0.8]]), wires=range(2), seed=3)
        return qml.state()

    return circuit, (np.array([1.0, 2.0, 0.5, -1.0]),)


def ising_and_multirz(dev):
    @qml.qnode(dev)
    def circuit(p):
        qml.IsingXX(p[0], wires=[0, 1])
        qml.IsingYY(p[1], wires=[1, 2])
        qml.IsingZZ(p[2], wires=[0, 2])
        qml.MultiRZ(p[0] * p[1], wires=[0, 1, 2])
        qml.CRot(*p, wires=[2, 0])
        return qml.expval(qml.PauliY(0)), qml.var(qml.PauliX(1) @ qml.PauliZ(2))

    return circuit, (rng.normal(size=3),)


PROGRAMS = [
    strongly_entangling,
    basic_entangler,
    qaoa_maxcut,
    excitations,
    qft_and_templates,
    ising_and_multirz,
]


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.__name__ for p in PROGRAMS])
def test_forward_matches_default_qubit(program):
    kvant_circuit, args = program(qml.device("kvant.qubit", wires=4))
    ref_circuit, _ = program(qml.device("default.qubit", wires=4))
    got = kvant.qjit(kvant_circuit)(*args)
    want = ref_circuit(*[jnp.asarray(a) for a in args])
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(g, w, atol=1e-10)


@pytest.mark.parametrize(
    "program",
    [strongly_entangling, qaoa_maxcut, excitations],
    ids=["strongly_entangling", "qaoa_maxcut", "excitations"],
)
def test_fd_gradient_of_cost_matches_jax(program):
    kvant_circuit, args = program(qml.device("kvant.qubit", wires=4))
    ref_circuit, _ = program(qml.device("default.qubit", wires=4))

    @kvant.qjit
    def gradient(*a):
        return kvant.grad(lambda *b: jnp.sin(kvant_circuit(*b)), argnums=0, method="fd", h=1e-7)(*a)

    got = gradient(*args)
    want = jax.grad(lambda *b: jnp.sin(ref_circuit(*b)), argnums=0)(*[jnp.asarray(a) for a in args])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_gradient_descent_loop_inside_qjit():
    """100 steps of gradient descent, the whole optimisation compiled: the cost goes down and
    matches the same loop run with JAX on default.qubit."""
    kvant_circuit, (weights,) = basic_entangler(qml.device("kvant.qubit", wires=3))
    ref_circuit, _ = basic_entangler(qml.device("default.qubit", wires=3))

    def cost_of(circuit):
        return lambda w: circuit(w)[0]  # probability of |00> on wires 0, 2

    @kvant.qjit
    def optimise(w):
        def step(i, w):
            return w - 0.2 * kvant.grad(cost_of(kvant_circuit), method="fd", h=1e-7)(w)

        w = kvant.for_loop(0, 100, 1)(step)(w)
        return w, cost_of(kvant_circuit)(w)

    w_final, cost = optimise(weights)
    # The reference step compiled once by jax.jit (op-by-op, the 100 steps took ~20 s).
    ref_grad = jax.jit(jax.grad(cost_of(ref_circuit)))
    w_ref = jnp.asarray(weights)
    for _ in range(100):
        w_ref = w_ref - 0.2 * ref_grad(w_ref)
    assert float(cost) < float(cost_of(ref_circuit)(jnp.asarray(weights)))
    np.testing.assert_allclose(w_final, w_ref, atol=1e-4)
