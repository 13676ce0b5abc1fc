"""JAX's own control flow (lax.cond / switch / while_loop / fori_loop / scan) and
custom-derivative functions, compiled by kvant against JAX."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest
from test_classical_lowering import assert_matches_jax

import kvant

lax = jax.lax
rng = np.random.default_rng(3)
V = rng.normal(size=4)
M = rng.normal(size=(5, 3))


@pytest.mark.parametrize("x", [V, -V])
def test_cond(x):
    fn = lambda x, p: (
        lax.cond(x[0] > 0, lambda y: y * 2, lambda y: -y, x),
        lax.cond(p, lambda y: (y.sum(), y * 2, 1), lambda y: (y.max(), -y, 2), x),
        lax.cond(p, jnp.sin, jnp.cos, x[1]),
    )
    assert_matches_jax(fn, (x, np.bool_(x[0] > 0)))


@pytest.mark.parametrize("index", [-1, 0, 1, 2, 3])
def test_switch(index):
    """lax.switch clamps its index; three branches become one scf.index_switch."""
    fn = lambda i, x: lax.switch(i, [lambda y: y * 2, lambda y: -y, lambda y: jnp.sin(y) + i], x)
    assert_matches_jax(fn, (np.int32(index), V))


WHILE_AND_SCAN = {
    "while_loop": (
        lambda x: lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] + 1, c[1] * 1.1), (0, x)),
        (V,),
    ),
    "while_loop with constants": (
        lambda x, n: lax.while_loop(
            lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] + x), (0, jnp.zeros_like(x))
        ),
        (V, np.int64(7)),
    ),
    "while_loop zero trips": (
        lambda x: lax.while_loop(lambda c: c.sum() > 1e9, lambda c: c * 2, x),
        (V,),
    ),
    "fori_loop static bounds (scan)": (
        lambda x: lax.fori_loop(0, 5, lambda i, c: c + i * x, x),
        (V,),
    ),
    "fori_loop traced bounds (while)": (
        lambda x, n: lax.fori_loop(0, n, lambda i, c: c * 0.5 + i, x),
        (V, np.int64(6)),
    ),
    "scan": (lambda x: lax.scan(lambda c, v: (c + v, c * v), 0.0, x), (V,)),
    "scan reverse over rows": (
        lambda m: lax.scan(
            lambda c, row: (c + row, (c @ row, row * 2)), jnp.zeros(3), m, reverse=True
        ),
        (M,),
    ),
    "scan without xs": (lambda x: lax.scan(lambda c, _: (c * 2, c), x, None, length=3), (V,)),
    "scan with int carry": (
        lambda v: lax.scan(lambda c, e: (c + e, c), np.int32(0), v),
        (np.arange(6, dtype=np.int32),),
    ),
    "scan of length 0": (lambda x: lax.scan(lambda c, v: (c + v, v), 1.0, x[:0]), (V,)),
    "nested control flow": (
        lambda x: lax.fori_loop(
            0,
            3,
            lambda i, c: lax.cond(
                i % 2 == 0,
                lambda z: z + jnp.cumsum(z),
                lambda z: lax.while_loop(lambda w: w.sum() > 1, lambda w: w / 2, z),
                c,
            ),
            x,
        ),
        (np.abs(V),),
    ),
    "scan body with sort, argmax and scatter": (
        lambda m: lax.scan(
            lambda c, row: (c.at[jnp.argmax(row)].add(1.0) + jnp.sort(row), jnp.argmax(row)),
            jnp.zeros(3),
            m,
        ),
        (M,),
    ),
    "map": (lambda m: lax.map(lambda row: jnp.dot(row, row), m), (M,)),
}


@pytest.mark.parametrize("name", list(WHILE_AND_SCAN))
def test_loops(name):
    fn, args = WHILE_AND_SCAN[name]
    assert_matches_jax(fn, args)


CUSTOM_DERIVATIVES = {
    "relu and softplus": lambda x: (
        jax.nn.relu(x),
        jax.nn.softplus(x),
        jax.nn.gelu(x),
        jax.nn.silu(x),
    ),
    "norm": lambda x: (
        jnp.linalg.norm(x),
        jnp.linalg.norm(x, 1),
        jnp.linalg.norm(x.reshape(2, 2)),
        jnp.linalg.norm(x, np.inf),
    ),
    "logsumexp and softmax": lambda x: (
        jax.scipy.special.logsumexp(x),
        jax.nn.softmax(x),
        jax.nn.log_softmax(x),
        jax.scipy.special.logsumexp(x.reshape(2, 2), axis=1),
    ),
}


@pytest.mark.parametrize("name", list(CUSTOM_DERIVATIVES))
def test_custom_derivative_functions(name):
    assert_matches_jax(CUSTOM_DERIVATIVES[name], (V,))


def test_classical_lax_loop_inside_qnode():
    """A classical lax loop in a QNode computes a gate angle; the gate is outside the loop."""

    def circuit(device):
        @qml.qnode(qml.device(device, wires=1))
        def f(x):
            angle = lax.fori_loop(0, 3, lambda i, a: a * 1.5 + i, x)
            qml.RX(angle, wires=0)
            return qml.expval(qml.PauliZ(0))

        return f

    got = kvant.qjit(circuit("kvant.qubit"))(0.3)
    np.testing.assert_allclose(got, circuit("default.qubit")(0.3), rtol=1e-12)


def test_qnode_and_its_gradient_called_from_lax_loops():
    """A training loop in lax.fori_loop and a lax.scan calling a QNode: the QNode is a function
    call, so it may sit in any loop body."""

    def make(device):
        @qml.qnode(qml.device(device, wires=2))
        def f(x):
            qml.RX(x[0], wires=0)
            qml.RY(x[1], wires=1)
            qml.CNOT(wires=[0, 1])
            return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

        return f

    def program(f, grad):
        return lambda x: (
            lax.fori_loop(0, 10, lambda i, x: x - 0.1 * grad(x), x),
            lax.scan(lambda c, _: (c * 1.1, f(c)), x, None, length=3)[1],
        )

    x = np.array([0.3, 0.5])
    f = make("kvant.qubit")
    got = kvant.qjit(program(f, kvant.grad(f, method="fd")))(x)
    reference = make("default.qubit")
    want = jax.jit(program(reference, jax.grad(reference)))(x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_scalar_loop_state_is_carried_as_scalars():
    """A scalar carry crosses scf regions as f64/i64, not as a one-element tensor (no buffer per
    iteration), in lax's loops as in kvant's; the values match JAX."""

    def fn(x):
        n, acc = lax.while_loop(lambda c: c[0] < 20, lambda c: (c[0] + 1, c[1] * 0.9 + x), (0, x))
        total = lax.fori_loop(0, 5, lambda i, t: t + jnp.sin(i * acc), 0.0)
        return n, acc, lax.cond(total > 0, lambda t: t * 2, lambda t: -t, total)

    assert_matches_jax(fn, (np.float64(0.3),))
    text = kvant.qjit(fn).compile(np.float64(0.3)).mlir
    loops = [line for line in text.splitlines() if "scf.while" in line or "scf.for" in line]
    assert loops and not any("tensor<" in line for line in loops), loops
