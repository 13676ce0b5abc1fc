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


def _probs_circuit(x, a, b):
    qml.RX(x, wires=0)
    qml.RY(0.7 * x, wires=1)
    qml.CNOT(wires=[0, 2])
    qml.RY(0.3, wires=3)
    qml.CRX(x, wires=[1, 3])
    # Catalyst's quick start: probs of wires computed from the arguments
    return qml.probs(wires=[a + 1]), qml.probs(wires=[b, a]), qml.probs(wires=[2, b])


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_probs_of_run_time_wires(diff_method):
    ours = qml.QNode(_probs_circuit, qml.device("kvant.qubit", wires=4), diff_method=diff_method)
    ref = qml.QNode(_probs_circuit, qml.device("default.qubit", wires=4))
    value = kvant.qjit(ours)
    cost = lambda f: lambda x, a, b: sum(p @ np.arange(len(p)) for p in f(x, a, b))
    gradient = kvant.qjit(kvant.grad(cost(ours)))
    for a, b in [(0, 3), (2, 1), (1, 0)]:
        for x in (0.7, -1.9):
            for got, want in zip(value(x, a, b), ref(x, a, b)):
                np.testing.assert_allclose(got, want, atol=1e-12)
            np.testing.assert_allclose(gradient(x, a, b), jax.grad(cost(ref))(x, a, b), atol=1e-10)


def test_run_time_wires_outside_the_register_or_repeated_give_nan():
    value = kvant.qjit(qml.QNode(_probs_circuit, qml.device("kvant.qubit", wires=4)))
    single, pair, _ = value(0.3, 3, 1)  # wire 4 does not exist
    assert np.isnan(single).all() and not np.isnan(pair).any()
    _, pair, mixed = value(0.3, 2, 2)  # wires [2, 2]
    assert np.isnan(pair).all() and np.isnan(mixed).all()


def test_samples_and_counts_of_run_time_wires():
    shots = 4000

    def sampled(x, a):
        qml.RX(x, wires=0)
        qml.CNOT(wires=[0, 1])
        qml.RY(2 * x, wires=2)
        return qml.sample(wires=[a, 2]), qml.counts(wires=[a]), qml.probs(wires=[2, a])

    ours = kvant.qjit(
        qml.set_shots(qml.QNode(sampled, qml.device("kvant.qubit", wires=3)), shots), seed=3
    )

    def exact(x, a):
        qml.RX(x, wires=0)
        qml.CNOT(wires=[0, 1])
        qml.RY(2 * x, wires=2)
        return qml.probs(wires=[a, 2]), qml.probs(wires=[a]), qml.probs(wires=[2, a])

    ref = qml.QNode(exact, qml.device("default.qubit", wires=3))
    for a in (0, 1):
        samples, counts, probs = ours(0.9, a)
        p_pair, p_one, p_rev = ref(0.9, a)
        assert samples.shape == (shots, 2)
        joint = np.bincount(samples[:, 0] * 2 + samples[:, 1], minlength=4) / shots
        bound = 5 * np.sqrt(0.25 / shots)
        np.testing.assert_allclose(joint, p_pair, atol=bound)
        assert sorted(counts) == ["0", "1"] and sum(int(c) for c in counts.values()) == shots
        np.testing.assert_allclose(int(counts["1"]) / shots, p_one[1], atol=bound)
        np.testing.assert_allclose(probs, p_rev, atol=bound)
