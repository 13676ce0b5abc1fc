"""qml.adjoint / qml.ctrl of quantum functions that hold control flow (for_loop, while_loop,
cond, nested), under qml.qjit(compiler="kvant"): values, states and derivatives against the same
program on default.qubit (where PennyLane runs the loops as Python and inverts or controls the
queued operations)."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

jax.config.update("jax_enable_x64", True)


def both(fn, wires, diff_method="best", measure=None):
    """The QNode on default.qubit (the reference, run eagerly) and compiled by kvant."""
    ref = qml.QNode(fn, qml.device("default.qubit", wires=wires), diff_method="backprop")
    ours = qml.QNode(fn, qml.device("lightning.qubit", wires=wires), diff_method=diff_method)
    return ref, ours


# ---------------------------------------------------------------------------------------------
# The reproducers
# ---------------------------------------------------------------------------------------------


def test_adjoint_of_a_for_loop_region_w1():
    def w1(x):
        def block():
            @qml.for_loop(0, 2, 1)
            def loop(i):
                qml.RX(x, wires=0)
                qml.RY(0.5, wires=0)

            loop()

        qml.adjoint(block)()
        return qml.expval(qml.PauliY(0))

    ref, ours = both(w1, 1)
    np.testing.assert_allclose(qml.qjit(ours, compiler="kvant")(0.3), ref(0.3), atol=1e-12)
    np.testing.assert_allclose(ref(0.3), 0.3972652413, atol=1e-9)


def test_ctrl_of_a_for_loop_region_w2():
    def w2(theta):
        def f(t):
            @qml.for_loop(0, 1, 1)
            def loop(i):
                qml.RX(t, wires=1)

            loop()

        qml.ctrl(f, control=0)(theta)
        return qml.state()

    ref, ours = both(w2, 2)
    np.testing.assert_allclose(qml.qjit(ours, compiler="kvant")(0.7), ref(0.7), atol=1e-12)
    np.testing.assert_allclose(ref(0.7), [1, 0, 0, 0], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Regions of every kind, run-time trip counts, loop state feeding gates, nesting
# ---------------------------------------------------------------------------------------------


def layer(x, n):
    """A region with a run-time trip count whose gates depend on the loop state."""

    @qml.for_loop(0, n, 1)
    def loop(i, angle):
        qml.RX(angle, wires=i % 3)
        qml.CNOT(wires=[i % 3, (i + 1) % 3])
        qml.RY(angle * 0.5 + i, wires=(i + 2) % 3)
        return angle * 1.3 + 0.1

    loop(x)


def stepped(x, n):
    """A for loop with a negative step and a start other than zero."""

    @qml.for_loop(n + 1, 0, -2)
    def loop(i):
        qml.RZ(x * i, wires=1)
        qml.Hadamard(wires=i % 3)
        qml.IsingXY(x + i, wires=[0, 2])

    loop()


def grown(x, n):
    """A while loop whose trip count depends on the arguments."""

    @qml.while_loop(lambda v, k: v < 2.0 + n)
    def loop(v, k):
        qml.RX(v, wires=k % 3)
        qml.CRY(v * 2.0, wires=[k % 3, (k + 1) % 3])
        return v + 0.45, k + 1

    loop(x, 0)


def branched(x, n):
    """cond (with else_if and otherwise) on classical values, holding a loop."""

    def first():
        qml.RX(x, wires=0)
        qml.T(wires=1)

    def second():
        @qml.for_loop(0, n, 1)
        def loop(i):
            qml.CRZ(x * (i + 1), wires=[i % 3, (i + 2) % 3])
            qml.S(wires=i % 3)

        loop()

    def third():
        qml.Rot(x, 0.2, -x, wires=2)

    qml.cond(x > 1.0, first, third, elifs=[(x > 0.0, second)])()


def nested(x, n):
    """Loops inside a cond inside a loop, decomposed gates, and adjoint/ctrl within."""

    @qml.for_loop(0, 2, 1)
    def outer(j):
        def inner_true():
            layer(x + j, n)

        def inner_false():
            qml.adjoint(stepped)(x, n)

        qml.cond(j == 0, inner_true, inner_false)()
        qml.ctrl(qml.RY, control=(j + 1) % 3)(x * 0.7, wires=j % 3)
        qml.QFT(wires=[0, 1, 2])

    outer()


REGIONS = {
    "for": layer,
    "for-negative-step": stepped,
    "while": grown,
    "cond": branched,
    "nested": nested,
}


def prepare(x):
    """Something for the region to act on."""
    qml.Hadamard(wires=0)
    qml.RY(x * 0.3, wires=1)
    qml.CNOT(wires=[0, 2])


@pytest.mark.parametrize("region", REGIONS)
def test_adjoint_of_regions_against_default_qubit(region):
    body = REGIONS[region]

    def circuit(x, n):
        prepare(x)
        body(x, n)
        qml.adjoint(body)(x, n)  # the identity overall ...
        qml.adjoint(body)(x * 0.5, n)  # ... and an inverse on its own
        return qml.state()

    ref, ours = both(circuit, 3)
    compiled = qml.qjit(ours, compiler="kvant")
    for x, n in [(0.4, 3), (1.3, 2), (-0.7, 0), (0.2, 5)]:
        np.testing.assert_allclose(compiled(x, n), ref(x, n), atol=1e-10, err_msg=f"{x=} {n=}")


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("control_values", [None, 0])
def test_ctrl_of_regions_against_default_qubit(region, control_values):
    body = REGIONS[region]

    def circuit(x, n):
        prepare(x)
        qml.Hadamard(wires=3)
        qml.ctrl(body, control=3, control_values=control_values)(x, n)
        qml.ctrl(qml.adjoint(body), control=[3, 4], control_values=[1, 0])(x * 0.9, n)
        return qml.state()

    ref, ours = both(circuit, 5)
    compiled = qml.qjit(ours, compiler="kvant")
    for x, n in [(0.4, 3), (1.3, 2), (-0.7, 1)]:
        np.testing.assert_allclose(compiled(x, n), ref(x, n), atol=1e-10, err_msg=f"{x=} {n=}")


def test_adjoint_of_ctrl_and_ctrl_on_a_run_time_wire():
    def circuit(x, c):
        prepare(x)

        def f(t):
            @qml.for_loop(0, 2, 1)
            def loop(i):
                qml.RX(t * (i + 1), wires=i)
                qml.CNOT(wires=[i, 2])

            loop()

        qml.adjoint(qml.ctrl(f, control=3))(x)
        qml.ctrl(f, control=c)(x * 0.3)
        return qml.state()

    ref, ours = both(circuit, 4)
    compiled = kvant.qjit(ours)
    for x in (0.3, -1.1):
        np.testing.assert_allclose(compiled(x, 3), ref(x, 3), atol=1e-10)


# ---------------------------------------------------------------------------------------------
# Derivatives through adjoint and controlled regions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
@pytest.mark.parametrize("region", ["for", "while", "cond", "nested"])
def test_gradients_through_adjoint_and_ctrl_regions(region, diff_method):
    body = REGIONS[region]

    def circuit(x, n):
        prepare(x)
        qml.adjoint(body)(x, n)
        qml.Hadamard(wires=3)
        qml.ctrl(body, control=3)(x * 0.8, n)
        return qml.expval(qml.PauliZ(0) @ qml.PauliX(1) + 0.5 * qml.PauliY(2))

    ref, ours = both(circuit, 4, diff_method=diff_method)

    @qml.qjit(compiler="kvant")
    def derivatives(x, n):
        return qml.grad(ours, argnums=0)(x, n)

    for x, n in [(0.4, 3), (1.3, 2), (0.25, 1)]:
        expected = jax.grad(ref, argnums=0)(x, n)
        np.testing.assert_allclose(derivatives(x, n), expected, atol=1e-8, err_msg=f"{x=} {n=}")


def test_hessian_through_an_adjoint_loop():
    def circuit(p):
        def block(a, b):
            @qml.for_loop(0, 3, 1)
            def loop(i, t):
                qml.RX(t, wires=0)
                qml.CRY(b, wires=[0, 1])
                return t * a

            loop(a + b)

        qml.adjoint(block)(p[0], p[1])
        return qml.expval(qml.PauliZ(1))

    ref, ours = both(circuit, 2, diff_method="parameter-shift")

    @kvant.qjit
    def hessian(p):
        return kvant.jacobian(kvant.grad(ours))(p)

    p = jnp.array([0.6, -0.4])
    np.testing.assert_allclose(hessian(p), jax.hessian(ref)(p), atol=1e-8)


# ---------------------------------------------------------------------------------------------
# What cannot be inverted or controlled
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transform", ["adjoint", "ctrl"])
def test_a_measurement_inside_adjoint_or_ctrl_is_refused(transform):
    def f(x):
        qml.RX(x, wires=0)
        qml.measure(0)

    wrap = {"adjoint": lambda g: qml.adjoint(g), "ctrl": lambda g: qml.ctrl(g, control=1)}[
        transform
    ]

    @qml.qnode(qml.device("lightning.qubit", wires=2))
    def circuit(x):
        wrap(f)(x)
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(kvant.UnsupportedError, match="measurement inside qml." + transform):
        qml.qjit(circuit, compiler="kvant")(0.3)
