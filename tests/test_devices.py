"""Devices inside qjit: the state-vector simulators are compiled to kvant's own, null.qubit
returns PennyLane's fixed values, anything else is refused by name."""

import jax
import numpy as np
import pennylane as qml
import pytest

import kvant


def _null_program(shots=None):
    @qml.set_shots(shots)
    @qml.qnode(qml.device("null.qubit", wires=2))
    def circuit(x):
        qml.Hadamard(0)
        qml.RX(x, wires=1)
        qml.CNOT(wires=[0, 1])
        if shots is None:
            return (
                qml.state(),
                qml.expval(qml.PauliZ(0)),
                qml.var(qml.PauliX(1)),
                qml.probs(wires=[0, 1]),
                qml.probs(wires=[1]),
            )
        return (
            qml.sample(wires=[0, 1]),
            qml.counts(wires=[0, 1], all_outcomes=True),
            qml.expval(qml.PauliZ(0)),
            qml.probs(wires=[0]),
        )

    return circuit


def test_null_qubit_returns_pennylanes_values():
    circuit = _null_program()
    want = circuit(0.3)  # PennyLane's own null.qubit
    got = kvant.qjit(circuit)(0.3)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_null_qubit_issue_reproducer():
    """The reported program: kvant simulated the Hadamard ([0.7071, 0.7071])."""
    f = qml.QNode(lambda: (qml.Hadamard(0), qml.state())[1], qml.device("null.qubit", wires=1))
    np.testing.assert_array_equal(np.asarray(kvant.qjit(f)()), [1, 0])


def test_null_qubit_with_shots():
    circuit = _null_program(shots=7)
    samples, counts, expval, probs = kvant.qjit(circuit)(0.3)
    want = circuit(0.3)
    np.testing.assert_array_equal(np.asarray(samples), want[0])
    assert {k: int(v) for k, v in counts.items()} == {k: int(v) for k, v in want[1].items()}
    assert float(expval) == float(want[2]) == 0.0
    np.testing.assert_array_equal(np.asarray(probs), want[3])


def test_null_qubit_derivatives_are_zero_as_in_pennylane():
    @qml.qnode(qml.device("null.qubit", wires=2))
    def circuit(x):
        qml.RX(x, wires=1)
        return qml.expval(qml.PauliZ(1)), qml.probs(wires=[1])

    want = jax.jacobian(circuit)(0.3)
    got = kvant.qjit(kvant.jacobian(circuit))(0.3)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


@pytest.mark.parametrize("name", ["default.mixed", "default.qutrit"])
def test_other_pennylane_devices_are_refused_by_name(name):
    circuit = qml.QNode(
        lambda: (
            qml.expval(qml.PauliZ(0))
            if name != "default.qutrit"
            else qml.expval(qml.GellMann(0, 3))
        ),
        qml.device(name, wires=1),
    )
    with pytest.raises(
        kvant.UnsupportedError,
        match=rf"device '{name}'.*default.qubit, "
        "lightning.qubit and kvant.qubit.*null.qubit",
    ):
        kvant.qjit(circuit)()


def test_custom_device_subclass_is_refused():
    class Noisy(qml.devices.DefaultQubit):
        """A user's device: its execution differs from default.qubit's."""

        def execute(self, circuits, execution_config=None):
            return tuple(0.5 for _ in circuits)

    circuit = qml.QNode(lambda x: (qml.RX(x, 0), qml.expval(qml.PauliZ(0)))[1], Noisy(wires=1))
    with pytest.raises(kvant.UnsupportedError, match=r"Noisy\), which kvant cannot compile"):
        kvant.qjit(circuit)(0.2)


@pytest.mark.parametrize("name", ["default.qubit", "lightning.qubit", "kvant.qubit"])
def test_state_vector_devices_are_compiled(name):
    @qml.qnode(qml.device(name, wires=1))
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    assert float(kvant.qjit(circuit)(0.4)) == pytest.approx(np.cos(0.4), abs=1e-12)
    assert float(kvant.qjit(kvant.grad(circuit))(0.4)) == pytest.approx(-np.sin(0.4), abs=1e-10)


def _no_wires(device, measure, shots=None):
    @qml.set_shots(shots)
    @qml.qnode(qml.device(device, wires=0))
    def circuit(x):
        qml.GlobalPhase(x)
        return measure()

    return circuit


@pytest.mark.parametrize(
    "measure",
    [qml.state, qml.probs, lambda: (qml.state(), qml.probs())],
    ids=["state", "probs", "both"],
)
def test_device_without_wires(measure):
    """R4: the state is one amplitude, e^{-ix} after GlobalPhase(x); probs of no bits [1]."""
    want = _no_wires("default.qubit", measure)(0.3)
    got = kvant.qjit(_no_wires("kvant.qubit", measure))(0.3)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        assert np.shape(g) == np.shape(w) and np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, atol=1e-12)
    np.testing.assert_allclose(
        kvant.qjit(_no_wires("kvant.qubit", qml.state))(0.3), [np.exp(-0.3j)]
    )


def test_device_without_wires_derivative_and_null_qubit():
    circuit = _no_wires("kvant.qubit", qml.probs)
    np.testing.assert_array_equal(kvant.qjit(kvant.jacobian(circuit))(0.3), [0.0])
    for measure in (qml.probs, qml.state):
        want = _no_wires("null.qubit", measure)(0.3)
        np.testing.assert_array_equal(kvant.qjit(_no_wires("null.qubit", measure))(0.3), want)


def test_samples_of_a_device_without_wires_are_refused():
    # PennyLane fails too ("Cannot set an empty list of wires"): there is no outcome to sample
    with pytest.raises(ValueError, match="sample of a device without wires has no outcomes"):
        kvant.qjit(_no_wires("kvant.qubit", qml.sample, shots=3))(0.3)
