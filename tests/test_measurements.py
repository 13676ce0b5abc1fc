"""Shots, sampling, counts, mid-circuit measurement and state preparation, against closed forms
and default.qubit; statistical checks use 5-sigma bounds."""

import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

SHOTS = 4000


def bound(p, shots=SHOTS):
    return 5 * np.sqrt(p * (1 - p) / shots) + 1e-12


def bell_like(device, shots=SHOTS):
    @qml.set_shots(shots)
    @qml.qnode(device)
    def circuit(x):
        qml.RX(x, wires=0)
        qml.CNOT(wires=[0, 1])
        return (
            qml.sample(wires=[0, 1]),
            qml.counts(wires=[0]),
            qml.probs(wires=[1]),
            qml.expval(qml.PauliZ(0)),
            qml.expval(qml.PauliZ(0) @ qml.PauliZ(1)),
            qml.var(qml.PauliZ(1)),
        )

    return circuit


@pytest.mark.parametrize("x", [0.4, 1.7])
def test_sampled_statistics_match_closed_forms(x):
    samples, counts, probs, z0, zz, var = kvant.qjit(bell_like(qml.device("kvant.qubit", wires=2)))(
        x
    )
    p1 = np.sin(x / 2) ** 2  # probability of outcome 1 on wire 0 (and, after CNOT, wire 1)
    assert samples.shape == (SHOTS, 2) and samples.dtype == jnp.int64
    assert set(np.unique(samples)) <= {0, 1}
    assert np.array_equal(samples[:, 0], samples[:, 1])  # CNOT copies the outcome
    assert abs(samples[:, 0].mean() - p1) < bound(p1)
    assert set(counts) == {"0", "1"} and int(counts["0"]) + int(counts["1"]) == SHOTS
    assert abs(int(counts["1"]) / SHOTS - p1) < bound(p1)
    assert abs(float(probs[1]) - p1) < bound(p1)
    assert abs(float(z0) - np.cos(x)) < 2 * bound(p1)
    assert float(zz) == 1.0  # both wires always agree
    assert abs(float(var) - np.sin(x) ** 2) < 0.05


def test_expval_of_non_diagonal_observables_with_shots():
    @qml.set_shots(SHOTS)
    @qml.qnode(qml.device("kvant.qubit", wires=2, seed=5))
    def circuit(x):
        qml.RY(x, wires=0)
        qml.Hadamard(wires=1)
        return qml.expval(qml.PauliX(0)), qml.expval(
            0.5 * qml.PauliX(1) - 2.0 * qml.PauliZ(0) @ qml.PauliX(1)
        )

    x = 0.9
    x0, h = kvant.qjit(circuit)(x)
    assert abs(float(x0) - np.sin(x)) < 0.08
    assert abs(float(h) - (0.5 - 2.0 * np.cos(x))) < 0.25


def test_seeded_device_is_reproducible_and_unseeded_is_not():
    seeded = kvant.qjit(bell_like(qml.device("kvant.qubit", wires=2, seed=1234), shots=64))
    assert np.array_equal(seeded(1.0)[0], seeded(1.0)[0])
    again = kvant.qjit(bell_like(qml.device("kvant.qubit", wires=2, seed=1234), shots=64))
    assert np.array_equal(seeded(1.0)[0], again(1.0)[0])
    unseeded = kvant.qjit(bell_like(qml.device("kvant.qubit", wires=2, seed=None), shots=64))
    assert not np.array_equal(unseeded(1.5)[0], unseeded(1.5)[0])  # chance 2^-64-ish


def test_sample_without_shots_is_an_error():
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit():
        return qml.sample(wires=0)

    with pytest.raises(ValueError, match="needs shots"):
        kvant.qjit(circuit)()


def test_mid_circuit_measurement_postselect_reset_and_cond():
    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def circuit(x):
        qml.RX(x, wires=0)
        m = qml.measure(0, postselect=1)
        qml.cond(m, qml.PauliX)(wires=1)
        r = qml.measure(1, reset=True)
        qml.cond(r, qml.RY)(x, wires=1)
        return qml.probs(wires=[0, 1])

    # postselected on 1: wire 0 is |1>, X flips wire 1 to 1, measured (1) and reset to |0>,
    # then RY(x) on wire 1.
    probs = kvant.qjit(circuit)(0.8)
    want = np.array([0, 0, np.cos(0.4) ** 2, np.sin(0.4) ** 2])
    np.testing.assert_allclose(probs, want, atol=1e-12)


def test_mid_circuit_measurement_samples_one_branch_per_execution():
    @qml.qnode(qml.device("kvant.qubit", wires=2), mcm_method="single-branch-statistics")
    def circuit(x):
        qml.RX(x, wires=0)
        m = qml.measure(0)
        qml.cond(m, qml.PauliX)(wires=1)
        return qml.probs(wires=[0, 1])

    f = kvant.qjit(circuit)
    runs = np.array([f(1.2) for _ in range(400)])
    # each execution collapses to |00> or |11>
    assert np.all(np.isclose(runs[:, 0], 1) | np.isclose(runs[:, 3], 1))
    p1 = np.sin(0.6) ** 2
    assert abs(runs[:, 3].mean() - p1) < bound(p1, 400)


@pytest.mark.parametrize("bits", [[1, 0, 1], [0, 1, 1]])
def test_basis_state_and_state_prep_match_default_qubit(bits):
    amplitudes = np.array([0.5, 0.5j, -0.5, 0.5], dtype=complex)

    def make(device_name):
        @qml.qnode(qml.device(device_name, wires=3))
        def circuit(x):
            qml.BasisState(np.array(bits), wires=[0, 1, 2])
            qml.RY(x, wires=1)
            return qml.state()

        return circuit

    np.testing.assert_allclose(
        kvant.qjit(make("kvant.qubit"))(0.3), make("default.qubit")(0.3), atol=1e-12
    )

    def prep(device_name):
        @qml.qnode(qml.device(device_name, wires=2))
        def circuit(v):
            qml.StatePrep(v, wires=[0, 1])
            qml.CNOT(wires=[0, 1])
            return qml.state()

        return circuit

    np.testing.assert_allclose(
        kvant.qjit(prep("kvant.qubit"))(amplitudes), prep("default.qubit")(amplitudes), atol=1e-12
    )


def test_sample_shapes_and_dtypes_match_pennylane():
    """R5: samples of wires are (shots, wires), one wire included; samples of an observable are
    its eigenvalues, (shots,) float64. Shapes and dtypes from default.qubit, values from the
    state: RX(pi) on wire 0 makes every outcome 1 (Z = -1), wire 1 stays 0."""

    def make(device, num_wires):
        @qml.set_shots(16)
        @qml.qnode(qml.device(device, wires=num_wires))
        def circuit(x):
            qml.RX(x, wires=0)
            return (
                qml.sample(),
                qml.sample(wires=0),
                qml.sample(qml.PauliZ(0)),
                qml.sample(qml.Hermitian(np.diag([2.0, 3.0]), wires=0)),
                qml.sample(qml.PauliZ(0) @ qml.PauliZ(num_wires - 1)),
            )

        return circuit

    for num_wires in (1, 2):
        want = make("default.qubit", num_wires)(np.pi)
        got = kvant.qjit(make("kvant.qubit", num_wires))(np.pi)
        for k, (g, w) in enumerate(zip(got, want)):
            assert np.shape(g) == np.shape(w), (num_wires, k)
            assert np.asarray(g).dtype == np.asarray(w).dtype, (num_wires, k)
            np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_sample_of_a_sum_is_refused():
    @qml.set_shots(4)
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit():
        return qml.sample(qml.PauliZ(0) + qml.PauliX(0))

    with pytest.raises(kvant.UnsupportedError, match="sample of a sum of observables"):
        kvant.qjit(circuit)()


@pytest.mark.parametrize(
    "make",
    [
        lambda k: qml.PauliZ(0) + 0.5 * qml.PauliX(0),
        lambda k: qml.PauliZ(0) + k * qml.PauliZ(1) @ qml.PauliX(0),
        lambda k: 2.0 * qml.PauliY(1),
        lambda k: qml.Hamiltonian(
            jnp.stack([k, 1.0]), [qml.PauliX(1), qml.PauliY(0) @ qml.PauliZ(1)]
        ),
    ],
)
def test_variance_of_a_sum_with_shots(make):
    """Var H = <H²> - <H>² from sampled Pauli words (constant or traced coefficients); against
    the exact variance within a statistical bound (the fuzzer found it refused)."""

    def circuit(x, k):
        qml.RX(x, 0)
        qml.CNOT([0, 1])
        qml.RY(0.3, 1)
        return qml.var(make(k))

    shots = 40000
    ours = kvant.qjit(
        qml.set_shots(qml.QNode(circuit, qml.device("kvant.qubit", wires=2, seed=5)), shots)
    )
    exact = qml.QNode(circuit, qml.device("default.qubit", wires=2))
    for x in (0.7, 2.1):
        # every sampled word is a mean of ±1 values: the estimate moves by a few times
        # (sum of |coefficient products|) / sqrt(shots)
        assert abs(float(ours(x, 0.5)) - float(exact(x, 0.5))) < 0.06, (ours(x, 0.5), exact(x, 0.5))
