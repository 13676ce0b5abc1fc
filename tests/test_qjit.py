"""qjit: forward values against default.qubit, caching, and the stage attributes."""

import os
import re
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant


def make_circuit(device_name, wires=3):
    @qml.qnode(qml.device(device_name, wires=wires))
    def circuit(x, y):
        qml.Hadamard(wires=0)
        qml.RX(x[0], wires=0)
        qml.RY(x[1], wires=1)
        qml.RZ(y, wires=2)
        qml.CNOT(wires=[0, 1])
        qml.CZ(wires=[1, 2])
        qml.adjoint(qml.S)(wires=1)
        qml.ctrl(qml.RY, control=0)(y / 2, wires=2)
        qml.Rot(x[0], y, x[1], wires=1)
        qml.IsingXX(0.3, wires=[0, 2])
        return (
            qml.expval(qml.PauliZ(0)),
            qml.expval(qml.PauliX(1) @ qml.PauliY(2)),
            qml.var(qml.PauliX(0)),
            qml.probs(wires=[2, 0]),
            qml.state(),
        )

    return circuit


def test_forward_values_match_default_qubit():
    compiled = kvant.qjit(make_circuit("kvant.qubit"))
    reference = make_circuit("default.qubit")
    x, y = np.array([0.3, -1.1]), 0.8
    got = compiled(x, y)
    want = reference(jnp.asarray(x), y)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-10)


def test_hybrid_pre_and_post_processing():
    circuit = make_circuit("kvant.qubit")
    ref_circuit = make_circuit("default.qubit")

    def program(circuit):
        def f(a, b):
            x = jnp.stack([jnp.cos(a) * b, a**2 - b])
            z, xy, _, probs, _ = circuit(x, jnp.tanh(b))
            return z * xy + jnp.sum(probs * jnp.arange(4.0)), jnp.sqrt(jnp.abs(xy)) + 1.0

        return f

    compiled = kvant.qjit(program(circuit))
    got = compiled(0.7, 1.9)
    want = program(ref_circuit)(0.7, 1.9)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-10)


def test_returns_jax_arrays_and_pytrees():
    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RY(x, wires=0)
        return {"z": qml.expval(qml.PauliZ(0)), "p": qml.probs(wires=0)}

    out = kvant.qjit(circuit)(0.5)
    assert isinstance(out["z"], jax.Array) and isinstance(out["p"], jax.Array)
    np.testing.assert_allclose(out["z"], np.cos(0.5), atol=1e-12)
    np.testing.assert_allclose(out["p"], [np.cos(0.25) ** 2, np.sin(0.25) ** 2], atol=1e-12)


def test_in_memory_cache_per_signature():
    calls = []

    @kvant.qjit
    def f(x):
        calls.append(1)
        return jnp.sin(x) * 2.0

    f(1.0)
    f(2.0)
    assert len(calls) == 1  # same signature: traced once
    np.testing.assert_allclose(f(np.ones(3)), 2 * np.sin(np.ones(3)))
    assert len(calls) == 2  # new shape: traced again


def test_stage_attributes():
    @kvant.qjit(keep_intermediate=True)
    def f(x):
        return kvant.grad(lambda x: jnp.cos(x) ** 2, method="fd")(x)

    assert f.jaxpr is None and f.mlir is None
    f(0.3)
    assert "kvant_grad" in str(f.jaxpr)
    assert "gradient.grad" in f.mlir
    assert "llvm.func" in f.mlir_lowered and "gradient.grad" not in f.mlir_lowered
    assert "define" in f.llvm_ir


@pytest.mark.parametrize(
    "device_name, diff_method, shots",
    [("kvant.qubit", "adjoint", None), ("default.qubit", "parameter-shift", 50)],
)
def test_qnode_function_carries_the_qnode_attribute(device_name, diff_method, shots):
    # The derivative passes read a QNode's configuration from one #quantum.node (verified by the
    # quantum dialect): it must state what PennyLane's QNode says.
    @qml.qnode(qml.device(device_name, wires=2), diff_method=diff_method)
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0)), qml.probs(wires=[0, 1])

    if shots is not None:
        circuit = qml.set_shots(circuit, shots)
    f = kvant.qjit(circuit)
    f(0.3)
    expected = (
        f'#quantum.node<device = "{circuit.device.name}", diffMethod = "{circuit.diff_method}", '
        'measurements = ["expval", "probs"]' + (f", shots = {shots}" if shots else "") + ">"
    )
    assert re.findall(r"quantum\.node = (#quantum\.node<[^>]*>)", f.mlir) == [expected]


def test_disk_cache_is_reused_by_a_new_process(tmp_path):
    script = textwrap.dedent(
        """
        import pennylane as qml, kvant
        @qml.qnode(qml.device("kvant.qubit", wires=1))
        def circuit(x):
            qml.RX(x, wires=0)
            return qml.expval(qml.PauliZ(0))
        f = kvant.qjit(circuit)
        print(float(f(0.25)), f._last.from_cache)
        """
    )
    env = dict(os.environ, KVANT_CACHE_DIR=str(tmp_path))
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    (v1, hit1), (v2, hit2) = (r.stdout.split() for r in runs)
    assert abs(float(v1) - np.cos(0.25)) < 1e-12 and v1 == v2
    assert (hit1, hit2) == ("False", "True")


def test_qjit_as_pennylane_compiler():
    @qml.qjit(compiler="kvant")
    @qml.qnode(qml.device("lightning.qubit", wires=2))
    def circuit(x):
        qml.RX(x, wires=0)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(1))

    assert isinstance(circuit, kvant.QJIT)
    assert abs(float(circuit(0.9)) - np.cos(0.9)) < 1e-12


def test_active_compiler_is_kvant_only_while_tracing():
    seen = []

    @kvant.qjit
    def f(x):
        seen.append(qml.compiler.active_compiler())
        return x + 1.0

    f(1.0)
    assert seen == ["kvant"]
    assert qml.compiler.active_compiler() is None


def test_qnode_outside_qjit_is_untouched():
    circuit = make_circuit("kvant.qubit")
    kvant.qjit(circuit)(np.array([0.1, 0.2]), 0.3)
    # After tracing, calling the QNode runs PennyLane as usual.
    z = circuit(jnp.array([0.1, 0.2]), 0.3)[0]
    assert isinstance(z, jax.Array)


def observables_circuit(device_name):
    hermitian = np.array([[1.0, 0.5 - 0.2j], [0.5 + 0.2j, -0.3]])
    unitary = np.array([[0.5 + 0.5j, -0.5 - 0.5j], [0.5 - 0.5j, 0.5 - 0.5j]])

    @qml.qnode(qml.device(device_name, wires=3))
    def circuit(x):
        qml.RX(x, wires=0)
        qml.QubitUnitary(unitary, wires=1)
        qml.CRY(2 * x, wires=[0, 2])
        qml.MultiRZ(x / 3, wires=[0, 1, 2])
        qml.Toffoli(wires=[0, 1, 2])
        qml.SingleExcitation(x, wires=[1, 2])
        return (
            qml.expval(qml.Hermitian(hermitian, wires=1)),
            qml.expval(
                0.3 * qml.PauliZ(0) @ qml.PauliX(2) - 1.2 * qml.PauliY(1) + 0.5 * qml.Identity(0)
            ),
            qml.var(qml.Hermitian(hermitian, wires=2)),
        )

    return circuit


@pytest.mark.parametrize("x", [0.3, -1.7])
def test_hermitian_hamiltonian_and_unitary_match_default_qubit(x):
    got = kvant.qjit(observables_circuit("kvant.qubit"))(x)
    want = observables_circuit("default.qubit")(x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-10)


def test_decomposed_gate_matches_default_qubit():
    """A gate without a runtime kernel (QFT) runs through PennyLane's decomposition."""

    def make(device_name):
        @qml.qnode(qml.device(device_name, wires=3))
        def circuit(x):
            qml.RY(x, wires=0)
            qml.Hadamard(wires=1)
            qml.QFT(wires=[0, 1, 2])
            return qml.probs(wires=[0, 1, 2])

        return circuit

    np.testing.assert_allclose(
        kvant.qjit(make("kvant.qubit"))(0.9), make("default.qubit")(0.9), atol=1e-10
    )


def test_repeated_calls_do_not_grow_memory():
    """Temporaries of compiled programs are freed: a million-element intermediate, 200 calls."""
    import resource

    @kvant.qjit
    def f(x):
        big = jnp.sin(jnp.broadcast_to(x, (1_000_000,)))  # 8 MB temporary
        return jnp.sum(big * big)

    f(0.5)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(200):
        f(0.5)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"resident memory grew by {grown_mb:.0f} MB over 200 calls"


def test_adjoint_and_ctrl_of_quantum_functions():
    def make(device_name):
        def block(x, w):
            qml.RX(x, wires=w)
            qml.Hadamard(wires=w + 1)
            qml.CRY(x * 2, wires=[w, w + 1])

        @qml.qnode(qml.device(device_name, wires=3))
        def circuit(x):
            block(x, 0)
            qml.adjoint(block)(x / 3, 1)
            qml.ctrl(block, control=2, control_values=[0])(x, 0)
            qml.ctrl(qml.adjoint(qml.RZ), control=[0, 1])(x, wires=2)
            return qml.state()

        return circuit

    got = kvant.qjit(make("kvant.qubit"))(0.7)
    want = make("default.qubit")(0.7)
    assert np.count_nonzero(np.abs(want) > 1e-3) > 2  # a state that exercises the gates
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_static_arguments_by_position_and_name():
    traces = []

    @kvant.qjit(static_argnums=1, static_argnames="layers")
    def f(x, n, layers=1):
        traces.append((n, layers))
        total = x
        for _ in range(n * layers):  # Python control flow on static values unrolls
            total = jnp.sin(total)
        return total

    def expected(x, k):
        for _ in range(k):
            x = np.sin(x)
        return x

    assert abs(float(f(0.5, 2)) - expected(0.5, 2)) < 1e-12
    assert abs(float(f(0.7, 2)) - expected(0.7, 2)) < 1e-12
    assert abs(float(f(0.5, 2, layers=3)) - expected(0.5, 6)) < 1e-12
    assert abs(float(f(0.5, 3)) - expected(0.5, 3)) < 1e-12
    assert traces == [(2, 1), (2, 3), (3, 1)]  # a new static value retraces; same one does not

    g = kvant.qjit(lambda x, layers: x * layers, static_argnames=["layers"])
    assert float(g(2.0, 3)) == 6.0 and float(g(2.0, layers=4)) == 8.0


def test_negative_static_argnums_count_from_the_last_argument_of_each_call():
    """As in jax.jit: -1 names the last positional argument of the call, and an argument left to
    its default is static anyway (the issue's f gave 18.0: n passed twice)."""

    def f(x, n, scale=1.0):
        return x * n * scale

    compiled = kvant.qjit(f, static_argnums=-1)
    reference = jax.jit(f, static_argnums=-1)
    for args in [(2.0, 3), (2.0, 3, 0.5), (1.5, 4)]:
        assert float(compiled(*args)) == float(reference(*args))
    both = kvant.qjit(f, static_argnums=(0, -2))
    assert float(both(2.0, 3, 0.5)) == float(jax.jit(f, static_argnums=(0, -2))(2.0, 3, 0.5)) == 3.0
    # -2 and 0 name the same argument of a two-argument call: it is static once (jax.jit passes
    # it twice here and returns 12.0)
    assert float(both(2.0, 3)) == f(2.0, 3) == 6.0


def test_static_argnums_out_of_range_is_refused_by_name():
    def f(x, n):
        return x * n

    with pytest.raises(ValueError, match=r"static_argnums=2 is out of range: 'f' takes 2"):
        kvant.qjit(f, static_argnums=2)
    with pytest.raises(ValueError, match=r"static_argnums=-3 is out of range: 'f' takes 2"):
        kvant.qjit(f, static_argnums=-3)
    with pytest.raises(TypeError, match="static_argnums must be an int or a sequence of ints"):
        kvant.qjit(f, static_argnums=1.5)
    # With *args the count is the call's: out of range there.
    g = kvant.qjit(lambda *xs: xs[0] * len(xs), static_argnums=-3)
    with pytest.raises(ValueError, match=r"static_argnums=-3 is out of range for a call with 2"):
        g(2.0, 3.0)
    assert float(g(2.0, 3.0, 4.0)) == 6.0


def test_a_value_returned_twice():
    """`return y, y` crashed the compiler (one buffer for two result parameters); found by the
    fuzzer through a QNode whose value was returned twice."""
    import pennylane as qml

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(p):
        qml.RX(p[0], wires=0)
        return qml.expval(p[2] * qml.Identity(0) + qml.PauliZ(0))

    def f(x):
        y = x * 2
        s = jnp.sum(y)
        r = circuit(x)
        return y, y, {"s": s, "t": s}, r, r

    x = jnp.array([0.3, 2.0, 3.0])
    got = kvant.qjit(f)(x)
    want = (x * 2, x * 2, {"s": 10.6, "t": 10.6}, 3.0 + np.cos(0.3), 3.0 + np.cos(0.3))
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(g, w, atol=1e-12)


def test_a_function_inside_returning_one_value_twice():
    """A jax.jit function or a differentiated function returning one value twice crashed the
    compiler too (the repeated buffer in buffer-results-to-out-params); every function now
    returns distinct buffers, the derivatives included."""

    def jitted(x):
        a, b = jax.jit(lambda y: (jnp.sin(y),) * 2)(x)
        return a + 2 * b

    np.testing.assert_allclose(kvant.qjit(jitted)(0.5), 3 * np.sin(0.5), atol=1e-14)
    got = kvant.qjit(lambda x: kvant.jacobian(lambda y: (jnp.sin(y),) * 2)(x))(0.5)
    np.testing.assert_allclose(got, (np.cos(0.5), np.cos(0.5)), atol=1e-14)
    got = kvant.qjit(kvant.grad(jitted))(0.5)
    np.testing.assert_allclose(got, 3 * np.cos(0.5), atol=1e-14)


def test_programs_written_with_pennylane_program_capture_on():
    """Demos switch PennyLane's program capture on (qml.capture.enable()) before qml.qjit; kvant
    traces with it off (its gates would be PennyLane's own primitives) and leaves it on."""
    import pennylane as qml

    def body(x):
        qml.RX(x, 0)
        qml.CNOT([0, 1])

        @qml.for_loop(0, 3, 1)
        def loop(i):
            qml.RY(x * i, wires=2)

        loop()
        return qml.expval(qml.PauliZ(1)), qml.probs(wires=[2])

    reference = qml.QNode(body, qml.device("default.qubit", wires=3))
    want = reference(0.4)
    qml.capture.enable()
    try:
        got = qml.qjit(qml.QNode(body, qml.device("lightning.qubit", wires=3)), compiler="kvant")(
            0.4
        )
        assert qml.capture.enabled()
    finally:
        qml.capture.disable()
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-12)
