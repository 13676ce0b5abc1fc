"""jax.vmap / kvant.vmap inside qjit over functions containing QNodes: a compiled loop over the
batch, against default.qubit evaluated element by element."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml

import kvant


def make(device_name):
    @qml.qnode(qml.device(device_name, wires=2))
    def circuit(x, weights):
        qml.RX(x, wires=0)
        qml.RY(weights[0], wires=1)
        qml.CNOT(wires=[0, 1])
        qml.RZ(weights[1], wires=1)
        qml.Hadamard(wires=1)
        return qml.expval(qml.PauliZ(1)), qml.probs(wires=[0])

    return circuit


def test_vmap_of_qnode_and_post_processing():
    circuit = make("kvant.qubit")
    reference = make("default.qubit")

    def cost(circuit):
        def f(xs, weights):
            z, p = kvant.vmap(circuit, in_axes=(0, None))(xs, weights)
            return jnp.tanh(z) + p[:, 1], p

        return f

    xs = np.array([0.1, -0.7, 1.9, 2.4])
    weights = np.array([0.3, -1.2])
    compiled = kvant.qjit(cost(circuit))
    got = compiled(xs, weights)
    z = np.array([float(reference(x, weights)[0]) for x in xs])
    p = np.stack([np.asarray(reference(x, weights)[1]) for x in xs])
    np.testing.assert_allclose(got[0], np.tanh(z) + p[:, 1], atol=1e-12)
    np.testing.assert_allclose(got[1], p, atol=1e-12)
    assert compiled.mlir.count("call @qnode_circuit") == 1 and "scf.for" in compiled.mlir


def test_vmap_over_both_arguments():
    circuit = make("kvant.qubit")
    reference = make("default.qubit")
    xs = np.linspace(-1, 1, 3)
    ws = np.stack([np.linspace(0, 1, 3), np.linspace(1, 2, 3)], axis=1)
    got_z, got_p = kvant.qjit(jax.vmap(circuit))(xs, ws)
    for k in range(3):
        z, p = reference(xs[k], ws[k])
        np.testing.assert_allclose(got_z[k], z, atol=1e-12)
        np.testing.assert_allclose(got_p[k], p, atol=1e-12)


def test_empty_batches_give_empty_results_as_jax_vmap():
    """An empty batch (or axis_size=0 with nothing mapped): jax.vmap returns empty results, so
    does kvant (it raised an internal slicing error on an empty mapped argument)."""

    def make(device):
        @qml.qnode(qml.device(device, wires=2))
        def circuit(x, y):
            qml.RX(x, wires=0)
            qml.RY(y, wires=1)
            return qml.expval(qml.PauliZ(0)), qml.probs(wires=[0, 1])

        return circuit

    for vmap_args, args in [
        (dict(), (jnp.zeros(0), jnp.zeros(0))),
        (dict(in_axes=(0, None)), (jnp.zeros(0), 0.3)),
        (dict(in_axes=None, axis_size=0), (0.2, 0.3)),
    ]:
        want = jax.jit(jax.vmap(make("default.qubit"), **vmap_args))(*args)
        got = kvant.qjit(kvant.vmap(make("kvant.qubit"), **vmap_args))(*args)
        for g, w in zip(got, want):
            assert np.shape(g) == np.shape(w) and np.asarray(g).dtype == np.asarray(w).dtype
