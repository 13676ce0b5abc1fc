"""kvant.for_loop / while_loop / cond (and qml.* under qml.qjit(compiler="kvant")): compiled,
not unrolled, inside and outside QNodes, against Python loops on default.qubit."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant


def test_classical_for_loop_while_loop_and_cond():
    @kvant.qjit
    def f(x, n):
        @kvant.for_loop(0, n, 1)
        def accumulate(i, acc):
            return acc + x * i

        total = accumulate(0.0)

        @kvant.while_loop(lambda v, k: v < 100.0)
        def grow(v, k):
            return v * 2.0, k + 1

        big, steps = grow(x, 0)

        @kvant.cond(total > 10.0)
        def pick():
            return total * 2.0

        @pick.else_if(total > 5.0)
        def pick():
            return total * 3.0

        @pick.otherwise
        def pick():
            return -total

        return total, big, steps, pick()

    for x, n in [(1.5, 4), (0.7, 6), (2.0, 0), (0.3, 5)]:
        total = sum(x * i for i in range(n))
        big, steps = x, 0
        while big < 100.0:
            big, steps = big * 2.0, steps + 1
        pick = total * 2.0 if total > 10 else (total * 3.0 if total > 5 else -total)
        got = f(x, n)
        np.testing.assert_allclose([float(v) for v in got], [total, big, steps, pick], rtol=1e-12)


def test_for_loop_with_negative_step_and_empty_range():
    @kvant.qjit
    def f(a, b, s):
        return kvant.for_loop(a, b, s)(lambda i, acc: acc + i)(0)

    for a, b, s in [(10, 0, -3), (0, 10, 3), (5, 5, 1), (5, 0, 1), (-4, 7, 2)]:
        assert int(f(a, b, s)) == sum(range(a, b, s)), (a, b, s)


def loop_circuit(device_name, compiled):
    @qml.qnode(qml.device(device_name, wires=3))
    def circuit(x, n):
        qml.Hadamard(wires=0)
        if compiled:

            @kvant.for_loop(0, n, 1)
            def layer(i, angle):
                qml.RX(angle * i, wires=i % 3)
                qml.CNOT(wires=[i % 3, (i + 1) % 3])
                return angle * 1.1

            layer(x)
        else:
            angle = x
            for i in range(n):
                qml.RX(angle * i, wires=i % 3)
                qml.CNOT(wires=[i % 3, (i + 1) % 3])
                angle = angle * 1.1
        qml.RY(x, wires=2)
        return qml.expval(qml.PauliZ(2) @ qml.PauliX(0)), qml.probs(wires=[0, 1])

    return circuit


def test_for_loop_inside_qnode_is_compiled_once():
    compiled = kvant.qjit(loop_circuit("kvant.qubit", True))
    reference = loop_circuit("default.qubit", False)
    for x, n in [(0.4, 1), (0.4, 5), (-1.3, 7)]:
        got = compiled(x, n)
        want = reference(x, n)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, atol=1e-10)
    # Not unrolled: the loop body (with its run-time wire i % 3) is traced once, so the IR has
    # a single RX, inside an scf.for.
    assert compiled.mlir.count('"RX"') == 1 and "scf.for" in compiled.mlir


def test_while_loop_and_cond_inside_qnode():
    def make(device_name, compiled):
        @qml.qnode(qml.device(device_name, wires=2))
        def circuit(x):
            if compiled:

                @kvant.while_loop(lambda a: a < 2.0)
                def rotate(a):
                    qml.RY(a, wires=0)
                    return a + 0.5

                rotate(x)

                @kvant.cond(x > 0.5)
                def branch():
                    qml.CNOT(wires=[0, 1])

                @branch.otherwise
                def branch():
                    qml.RX(x, wires=1)

                branch()
            else:
                a = x
                while a < 2.0:
                    qml.RY(a, wires=0)
                    a = a + 0.5
                if x > 0.5:
                    qml.CNOT(wires=[0, 1])
                else:
                    qml.RX(x, wires=1)
            return qml.state()

        return circuit

    compiled = kvant.qjit(make("kvant.qubit", True))
    for x in [-0.2, 0.3, 0.9, 2.5]:
        np.testing.assert_allclose(compiled(x), make("default.qubit", False)(x), atol=1e-10)


def test_pennylane_control_flow_dispatches_to_kvant():
    @qml.qjit(compiler="kvant")
    @qml.qnode(qml.device("lightning.qubit", wires=2))
    def circuit(x, n):
        @qml.for_loop(0, n, 1)
        def loop(i):
            qml.RX(x, wires=0)

        loop()

        @qml.while_loop(lambda k: k < 2)
        def twice(k):
            qml.RY(x / 2, wires=1)
            return k + 1

        twice(0)
        qml.cond(x > 1.0, qml.PauliX, qml.PauliZ)(wires=1)
        return qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliZ(1))

    for x, n in [(0.3, 3), (1.4, 2)]:
        z0, z1 = circuit(x, n)
        assert abs(float(z0) - np.cos(n * x)) < 1e-10
        expected_z1 = -np.cos(x) if x > 1.0 else np.cos(x)
        assert abs(float(z1) - expected_z1) < 1e-10


def test_fd_gradient_through_for_loop():
    """docs/acceptance-gradients.md A6 with method="fd": RX(1.5 x i) for i < n, <Y>."""

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x, n):
        @kvant.for_loop(0, n, 1)
        def body(i):
            qml.RX(1.5 * x * i, wires=0)

        body()
        return qml.expval(qml.PauliY(0))

    @kvant.qjit
    def dcircuit(x, n):
        return kvant.grad(circuit, argnums=0, method="fd")(x, n)

    expected = [0.0, -1.3506706535, -0.9855300919, 8.1366492782]
    for n, want in zip(range(1, 5), expected):
        assert abs(float(dcircuit(0.3, n)) - want) < 1e-5


def test_loop_state_must_keep_its_structure():
    @kvant.qjit
    def f(x):
        return kvant.for_loop(0, 3, 1)(lambda i, a: (a, a))(x)

    with pytest.raises(TypeError, match="structure"):
        f(1.0)


def test_cond_with_result_needs_otherwise():
    @kvant.qjit
    def f(x):
        return kvant.cond(x > 0)(lambda: x * 2)()

    with pytest.raises(TypeError, match="otherwise"):
        f(1.0)


def test_control_flow_runs_as_python_outside_qjit():
    assert kvant.for_loop(0, 4, 1)(lambda i, s: s + i)(0) == 6
    assert kvant.while_loop(lambda v: v < 10)(lambda v: v * 3)(1) == 27
    assert kvant.cond(False)(lambda: 1).otherwise(lambda: 2)() == 2


def python_roll_loop(v, n):
    for _ in range(n):
        v = np.concatenate([v[1:], v[:1]]) * 1.5
    return v


def test_loops_carrying_arrays_that_are_replaced_every_iteration():
    """Each iteration yields a new buffer: the deallocation of the previous one must be
    decided at run time (this aborted MLIR's own dealloc lowering on i1 memrefs)."""
    roll = kvant.qjit(
        lambda v, n: kvant.for_loop(0, n, 1)(lambda i, a: jnp.concatenate([a[1:], a[:1]]) * 1.5)(v)
    )
    grow = kvant.qjit(
        lambda v: kvant.while_loop(lambda a: jnp.sum(a) < 100.0)(
            lambda a: jnp.concatenate([a[1:], a[:1] * 2.0])
        )(v)
    )
    swap = kvant.qjit(
        lambda v, p: kvant.cond(p > 0)(lambda: jnp.concatenate([v[1:], v[:1]])).otherwise(
            lambda: v * 2
        )()
    )
    v = np.arange(4.0)
    for n in (0, 1, 3, 6):
        np.testing.assert_allclose(roll(v, n), python_roll_loop(v, n))
    a = np.arange(1.0, 5.0)
    while a.sum() < 100.0:
        a = np.concatenate([a[1:], a[:1] * 2.0])
    np.testing.assert_allclose(grow(np.arange(1.0, 5.0)), a)
    np.testing.assert_allclose(swap(v, 1.0), [1, 2, 3, 0])
    np.testing.assert_allclose(swap(v, -1.0), v * 2)


def test_loop_buffers_are_freed():
    import resource

    roll = kvant.qjit(
        lambda v, n: kvant.for_loop(0, n, 1)(lambda i, a: jnp.concatenate([a[1:], a[:1]]))(v)
    )
    v = np.ones(250_000)  # 2 MB per buffer
    roll(v, 2)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(20):
        roll(v, 20)  # 400 buffers of 2 MB in all
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"resident memory grew by {grown_mb:.0f} MB"


def test_jax_lax_control_flow_with_gates_inside_a_qnode():
    """lax.fori_loop / while_loop / cond bodies that apply gates run them every iteration."""

    def make(device_name, compiled):
        @qml.qnode(qml.device(device_name, wires=2))
        def circuit(x, n):
            if compiled:
                jax.lax.fori_loop(0, n, lambda i, a: (qml.RX(a * i, wires=i % 2), a + 0.1)[1], x)
                jax.lax.while_loop(lambda k: k < 3, lambda k: (qml.RY(x, wires=0), k + 1)[1], 0)
                jax.lax.cond(x > 0.5, lambda: qml.CNOT(wires=[0, 1]), lambda: qml.CZ(wires=[0, 1]))
            else:
                a = x
                for i in range(n):
                    qml.RX(a * i, wires=i % 2)
                    a = a + 0.1
                for _ in range(3):
                    qml.RY(x, wires=0)
                if x > 0.5:
                    qml.CNOT(wires=[0, 1])
                else:
                    qml.CZ(wires=[0, 1])
            return qml.state()

        return circuit

    compiled = kvant.qjit(make("kvant.qubit", True))
    for x, n in [(0.3, 4), (0.9, 5)]:
        np.testing.assert_allclose(compiled(x, n), make("default.qubit", False)(x, n), atol=1e-12)
    # outside QNodes jax.lax is untouched
    assert jax.lax.fori_loop.__module__.startswith("jax")


def test_a_template_before_a_loop_is_applied_once():
    """Operators a decomposition creates must not stay queued: they were applied a second time
    at the next flush of the queue (a template followed by control flow)."""

    def circuit(x):
        qml.AngleEmbedding(x, wires=[0, 1])
        qml.StronglyEntanglingLayers(x.reshape(1, 2, 1) * jnp.ones((1, 2, 3)), wires=[0, 1])

        @qml.for_loop(0, 1, 1)
        def loop(i):
            qml.Hadamard(0)

        loop()
        return qml.state()

    x = jnp.array([0.1, 0.5])
    ours = qml.qjit(qml.QNode(circuit, qml.device("lightning.qubit", wires=2)), compiler="kvant")
    ref = qml.QNode(circuit, qml.device("default.qubit", wires=2))
    np.testing.assert_allclose(ours(x), ref(x), atol=1e-12)
