"""``qjit(seed=s)``: every random choice of a call (shot samples, counts, sampled estimates,
mid-circuit outcomes) is drawn from the simulator's generator started from ``s``, so calls and
processes repeat each other; different seeds differ; without a seed each call is fresh. The
seeded samples are checked against PennyLane's exact distribution (default.qubit), so a
seeded generator that stops being random fails too."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

jax.config.update("jax_enable_x64", True)

SHOTS = 2000


def mixed(x):
    """Samples of a superposition, a mid-circuit outcome deciding a later gate, counts."""
    qml.RX(x, wires=0)
    qml.Hadamard(wires=1)
    m = qml.measure(0)
    qml.cond(m, qml.RY)(x, wires=2)
    qml.CNOT(wires=[1, 2])
    return qml.sample(wires=[0, 1, 2]), qml.expval(qml.PauliZ(2)), qml.counts(wires=[1])


def _program(seed, mcm_method="one-shot", through="kvant"):
    qnode = qml.set_shots(
        qml.QNode(mixed, qml.device("lightning.qubit", wires=3), mcm_method=mcm_method), SHOTS
    )
    if through == "pennylane":
        return qml.qjit(qnode, compiler="kvant", seed=seed)
    return kvant.qjit(qnode, seed=seed)


def _flat(result):
    samples, expval, counts = result
    return np.asarray(samples), float(expval), {k: int(v) for k, v in counts.items()}


def _same(a, b):
    return np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]


@pytest.mark.parametrize("through", ["kvant", "pennylane"])
@pytest.mark.parametrize("mcm_method", ["one-shot", "single-branch-statistics"])
def test_same_seed_same_results_different_seed_different(through, mcm_method):
    f = _program(1234, mcm_method, through)
    first = _flat(f(0.9))
    assert _same(first, _flat(f(0.9)))  # a second call repeats the first
    assert _same(first, _flat(_program(1234, mcm_method, through)(0.9)))  # a new function too
    other = _flat(_program(1235, mcm_method, through)(0.9))
    assert not np.array_equal(first[0], other[0])


def test_without_seed_calls_differ_also_after_a_seeded_call():
    seeded = _program(7)
    unseeded = _program(None)
    a = _flat(unseeded(0.9))
    seeded(0.9)
    b = _flat(unseeded(0.9))
    seeded(0.9)
    c = _flat(unseeded(0.9))
    assert not np.array_equal(a[0], b[0])
    assert not np.array_equal(b[0], c[0])


def test_seeded_samples_follow_the_distribution():
    """A seeded run's samples estimate PennyLane's exact probabilities (default.qubit, the
    mixture over the mid-circuit outcome) within 5 standard errors, for several seeds."""

    def exact(x):
        qml.RX(x, wires=0)
        qml.Hadamard(wires=1)
        m = qml.measure(0)
        qml.cond(m, qml.RY)(x, wires=2)
        qml.CNOT(wires=[1, 2])
        return qml.probs(wires=[0, 1, 2])

    probs = np.asarray(qml.QNode(exact, qml.device("default.qubit"), mcm_method="deferred")(0.9))
    for seed in (0, 1, 2**32 - 1, 2**64 - 1):
        samples = np.asarray(_program(seed)(0.9)[0])
        index = samples @ np.array([4, 2, 1])
        freq = np.bincount(index, minlength=8) / SHOTS
        bound = 5 * np.sqrt(np.maximum(probs * (1 - probs), 1e-4) / SHOTS)
        assert np.all(np.abs(freq - probs) <= bound), (seed, freq, probs)


def test_seed_reproducible_across_processes(tmp_path):
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import numpy as np
        from test_seed import _program
        samples = np.asarray(_program(99)(0.9)[0])
        print(json.dumps(samples.tolist()))
        """
    )
    runs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "JAX_ENABLE_X64": "1"},
        )
        assert done.returncode == 0, done.stderr[-2000:]
        runs.append(np.array(json.loads(done.stdout.strip().splitlines()[-1])))
    assert np.array_equal(runs[0], runs[1])
    assert np.array_equal(runs[0], np.asarray(_program(99)(0.9)[0]))


def test_seed_applies_under_jax_transformations():
    """jax.jit of a seeded qjit function runs the compiled program as a callback: each call is
    seeded; the parameter-shift gradient with shots is reproducible too."""
    dev = qml.device("lightning.qubit", wires=1)

    @qml.set_shots(500)
    @qml.qnode(dev, diff_method="parameter-shift")
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    seeded = kvant.qjit(lambda x: circuit(x), seed=5)
    other = kvant.qjit(lambda x: circuit(x), seed=6)
    x = jnp.array(0.8)
    assert float(jax.jit(seeded)(x)) == float(jax.jit(seeded)(x))
    assert float(jax.jit(seeded)(x)) == float(seeded(x))
    assert float(jax.grad(seeded)(x)) == float(jax.grad(seeded)(x))
    assert float(seeded(x)) != float(other(x))
    # 500 shots: within 5 standard errors of cos(x) and its derivative
    assert abs(float(seeded(x)) - np.cos(0.8)) < 5 / np.sqrt(500)
    assert abs(float(jax.grad(seeded)(x)) + np.sin(0.8)) < 5 * np.sqrt(2) / np.sqrt(500)


def test_device_seed_still_restarts_its_qnodes():
    """A kvant.qubit seed restarts the generator at each execution of its QNodes: two calls of
    that QNode in one program repeat each other whatever the program's seed."""
    dev = qml.device("kvant.qubit", wires=1, seed=11)

    @qml.set_shots(50)
    @qml.qnode(dev)
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.sample(wires=[0])

    @kvant.qjit(seed=3)
    def twice(x):
        return circuit(x), circuit(x)

    a, b = twice(1.3)
    assert np.array_equal(a, b)
    assert 0 < int(np.sum(a)) < 50


@pytest.mark.parametrize(
    "seed, error",
    [(-1, ValueError), (2**64, ValueError), (1.5, TypeError), ("1", TypeError), (True, TypeError)],
)
def test_bad_seed(seed, error):
    with pytest.raises(error, match="seed"):
        kvant.qjit(lambda x: x, seed=seed)
