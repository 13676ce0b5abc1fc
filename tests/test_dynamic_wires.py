"""Devices without fixed wires (``qml.device("lightning.qubit")``, ``"default.qubit"``,
``"kvant.qubit"`` with ``wires=None``): the register holds the wires the circuit uses, in the
order of first use (gates and mid-circuit measurements, then the terminal measurements), which
is PennyLane's order of a tape's wires and orders ``probs()``, ``state()`` and ``sample()``.
References: the same QNode on PennyLane's default.qubit with ``wires=None`` (JAX backprop for
derivatives)."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

jax.config.update("jax_enable_x64", True)

LABEL_SETS = [
    [3, 0, 7, 1],  # integers, not in order and not contiguous
    ["a", "anc", "b"],
    ["q1", 5, 2.5, -2],  # mixed hashable labels
]


def random_gates(seed, labels):
    """A random circuit on the labels (each label's first use at a random point)."""
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(len(labels)))
    ops = []
    for step in range(10):
        used = order[: 1 + step * len(labels) // 6]
        if len(used) >= 2 and rng.random() < 0.35:
            a, b = rng.choice(used, 2, replace=False)
            ops.append(("CNOT", int(a), int(b), None))
        else:
            ops.append(
                (
                    str(rng.choice(["RX", "RY", "RZ", "H"])),
                    int(rng.choice(used)),
                    None,
                    int(rng.integers(3)),
                )
            )

    def apply(x):
        for name, a, b, k in ops:
            if name == "CNOT":
                qml.CNOT(wires=[labels[a], labels[b]])
            elif name == "H":
                qml.Hadamard(wires=labels[a])
            else:
                getattr(qml, name)(x[k] * 1.3 + 0.2, wires=labels[a])

    return apply


def _both(fn, device_name, **qnode_kwargs):
    return (
        qml.QNode(fn, qml.device(device_name), **qnode_kwargs),
        qml.QNode(fn, qml.device("default.qubit"), diff_method="backprop"),
    )


@pytest.mark.parametrize("device_name", ["lightning.qubit", "default.qubit", "kvant.qubit"])
@pytest.mark.parametrize("labels", LABEL_SETS, ids=["ints", "strings", "mixed"])
def test_random_circuits_probs_state_expval(device_name, labels):
    for seed in range(2):
        apply = random_gates(seed, labels)

        def body(x):
            apply(x)
            return (
                qml.probs(),
                qml.state(),
                qml.probs(wires=[labels[-1], labels[0]]),
                qml.expval(qml.PauliZ(labels[1]) @ qml.PauliX(labels[2])),
            )

        kv, ref = _both(body, device_name)
        x = jnp.array([0.3, -0.9, 1.4])
        got, want = kvant.qjit(kv)(x), ref(x)
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), atol=1e-10)


def test_measured_wire_first_used_after_a_whole_register_measurement():
    """probs() before an expval on a wire no gate touches: PennyLane's probs include that wire
    (the tape's wires), so kvant's register must too."""

    def body(x):
        qml.RX(x, wires="a")
        qml.CNOT(wires=["a", 3])
        qml.RY(x, wires=1)
        return qml.probs(), qml.expval(qml.PauliZ(5)), qml.state()

    kv, ref = _both(body, "lightning.qubit")
    got, want = qml.qjit(kv, compiler="kvant")(0.3), ref(0.3)
    assert np.asarray(got[0]).shape == (16,)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), atol=1e-10)


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_derivatives(diff_method):
    labels = ["x", 2, "y"]
    apply = random_gates(4, labels)

    def body(x):
        apply(x)
        return qml.expval(qml.PauliZ("x") @ qml.PauliY("y") + 0.5 * qml.PauliX(2)), qml.probs(
            wires=["y", "x"]
        )

    kv, ref = _both(body, "kvant.qubit", diff_method=diff_method)
    x = jnp.array([0.3, -0.9, 1.4])
    cost = lambda q: lambda x: q(x)[0] + jnp.sum(q(x)[1] * jnp.array([0.1, -0.4, 0.7, 0.2]))
    got = kvant.qjit(kvant.grad(cost(kv)))(x)
    np.testing.assert_allclose(got, jax.grad(cost(ref))(x), atol=1e-8)


def test_samples_are_in_the_tape_wire_order():
    """A basis state prepared gate by gate: every sample equals PennyLane's, column by column,
    and a superposition's sample frequencies follow the exact probabilities."""

    def basis(x):
        qml.PauliX(wires="b")
        qml.Identity(wires=9)
        qml.PauliX(wires=4)
        qml.Identity(wires="a")
        return qml.sample(), qml.counts()

    kv = qml.set_shots(qml.QNode(basis, qml.device("lightning.qubit")), 20)
    ref = qml.set_shots(qml.QNode(basis, qml.device("default.qubit")), 20)
    (samples, counts), (want_samples, want_counts) = kvant.qjit(kv)(0.0), ref(0.0)
    np.testing.assert_array_equal(np.asarray(samples), np.asarray(want_samples))
    assert {k: int(v) for k, v in counts.items() if int(v)} == {
        k: int(v) for k, v in want_counts.items()
    }

    def spread(x):
        qml.RY(x, wires="z")
        qml.Hadamard(wires=0)
        qml.CNOT(wires=[0, "w"])
        return qml.sample()

    shots = 4000
    kv = qml.set_shots(qml.QNode(spread, qml.device("kvant.qubit")), shots)
    samples = np.asarray(kvant.qjit(kv, seed=1)(0.8))
    probs = np.asarray(
        qml.QNode(
            lambda x: [qml.RY(x, "z"), qml.Hadamard(0), qml.CNOT([0, "w"]), qml.probs()][-1],
            qml.device("default.qubit"),
        )(0.8)
    )
    freq = np.bincount(samples @ np.array([4, 2, 1]), minlength=8) / shots
    bound = 5 * np.sqrt(np.maximum(probs * (1 - probs), 1e-4) / shots)
    assert np.all(np.abs(freq - probs) <= bound), (freq, probs)


def test_mid_circuit_measurements_and_control_flow():
    """qml.measure, qml.cond on its outcome, a for_loop and a ctrl region on labelled wires,
    without fixed wires; exact statistics against default.qubit (deferred)."""

    def body(x):
        qml.RX(x, wires="in")
        m = qml.measure("in")
        qml.cond(m, qml.RY)(x * 2, wires="out")

        @qml.for_loop(0, 3, 1)
        def layer(i):
            qml.RZ(x * (i + 1), wires="out")
            qml.Hadamard(wires="out")

        layer()
        qml.ctrl(lambda: (qml.RX(x, wires="t"), qml.CNOT(wires=["t", "out"])), control="in")()
        return qml.probs(wires=["out", "t", "in"]), qml.expval(qml.PauliZ("out"))

    kv = qml.QNode(body, qml.device("lightning.qubit"))
    ref = qml.QNode(body, qml.device("default.qubit"), mcm_method="deferred")
    for x in (0.4, 1.9):
        got = qml.qjit(kv, compiler="kvant")(x)
        want = ref(x)
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), atol=1e-10)


def test_no_wires_used():
    def body(x):
        return qml.probs()

    kv, ref = _both(body, "kvant.qubit")
    np.testing.assert_allclose(np.asarray(kvant.qjit(kv)(0.1)), np.asarray(ref(0.1)))


def test_run_time_wire_on_a_device_without_wires_is_refused():
    @qml.qnode(qml.device("lightning.qubit"))
    def circuit(x, w):
        qml.RX(x, wires=w)
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(kvant.UnsupportedError, match="computed at run time.*wires=None"):
        kvant.qjit(circuit)(0.3, 1)

    @qml.qnode(qml.device("lightning.qubit"))
    def observable(x, w):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(w))

    with pytest.raises(kvant.UnsupportedError, match="computed at run time.*wires=None"):
        kvant.qjit(observable)(0.3, 0)


def test_statistics_of_listed_outcomes_on_a_device_without_fixed_wires():
    """``qml.counts([m0, m1])`` / ``qml.probs(op=[m0, m1])`` on a ``wires=None`` device (the
    tutorial_how_to_collect_mcm_stats demo's device): the outcomes' wires are the measured
    ones, nothing is read from the listed values' wires."""

    def circuit():
        qml.RX(0.9, wires="a")
        qml.CNOT(wires=["a", "b"])
        m0, m1 = qml.measure("a"), qml.measure("b")
        return qml.probs(op=[m0, m1]), qml.expval(m0 + m1)

    got = qml.qjit(qml.QNode(circuit, qml.device("kvant.qubit")), compiler="kvant")()
    want = qml.QNode(circuit, qml.device("default.qubit"), mcm_method="deferred")()
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-12)
