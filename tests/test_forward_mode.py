"""Forward mode (issue 15): kvant.jvp inside qjit pushes tangents through the program
(gradient.jvp), and jacobian takes forward sweeps when there are fewer inputs than outputs.
References: jax.jvp / jax.jacfwd of the same functions, PennyLane's default.qubit for QNodes."""

import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant
from kvant.errors import UnsupportedError

jax.config.update("jax_enable_x64", True)

RNG = np.random.default_rng(1234)
M = jnp.asarray(RNG.normal(size=(3, 3)))

CLASSICAL = {
    "elementwise": lambda x: jnp.exp(x) * jnp.tanh(x) / (1 + x**2) + jnp.maximum(x, 0.1),
    "matmul": lambda x: M @ x + x @ M @ x,
    "reduce": lambda x: jnp.sum(jnp.sin(x) ** 2),
    "broadcast_transpose": lambda x: (x[:, None] * x[None, :]).T,
    "slices_concat": lambda x: jnp.concatenate([x[1:], x[:2] * 3.0]),
    "where": lambda x: jnp.where(x > 0, jnp.sqrt(jnp.abs(x)), x**3),
    "fori_loop": lambda x: jax.lax.fori_loop(0, 4, lambda i, c: jnp.sin(c) * x + c, x),
    "while_loop": lambda x: jax.lax.while_loop(
        lambda c: c[1] < 5, lambda c: (c[0] * 1.1 + jnp.cos(c[0]), c[1] + 1), (x, 0)
    )[0],
    "cond": lambda x: jax.lax.cond(x[0] > 0, jnp.sin, lambda y: y**2, x),
    "switch": lambda x: jax.lax.switch(1, [lambda y: y, lambda y: y**3, jnp.cos], x),
    "scan": lambda x: jax.lax.scan(lambda c, a: (c * a + jnp.sin(c), c), 1.0, x),
    "vmap": lambda x: jax.vmap(lambda a: jnp.sin(a) * a)(x),
    "pad": lambda x: jnp.pad(x, 2) * 2.0,
    "inner_jit": lambda x: jax.jit(lambda y: y * jnp.log1p(y**2))(x),
    "cumsum_sort": lambda x: jnp.cumsum(x) * jnp.sort(x),
    "float32": lambda x: (x.astype(jnp.float32) ** 2).astype(jnp.float64),
    "gather": lambda x: x[jnp.argmax(x)] * x,
    "einsum": lambda x: jnp.einsum("ij,jk->ik", jnp.outer(x, x), M),
}


def _expand(mlir_text):
    """The program after gradient-expand-auto, by the installed kvant-opt."""
    exe = Path(sys.executable).parent / "kvant-opt"
    done = subprocess.run(
        [str(exe) if exe.exists() else "kvant-opt", "--gradient-expand-auto", "-"],
        input=mlir_text,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _close(got, want, atol=1e-9):
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=1e-9)


@pytest.mark.parametrize("name", sorted(CLASSICAL))
def test_jvp_of_classical_code_against_jax(name):
    f = CLASSICAL[name]
    x, t = jnp.array([0.3, -0.7, 1.1]), jnp.array([0.5, 1.5, -0.25])
    compiled = kvant.qjit(lambda x, t: kvant.jvp(f, [x], [t]))
    _close(compiled(x, t), jax.jvp(f, (x,), (t,)))


def test_jvp_is_forward_mode_not_a_jacobian():
    """One gradient.jvp in the program, no gradient.grad, and the expanded code builds a
    @*.jvp.* function and no @*.jacobian.* one."""
    f = CLASSICAL["matmul"]
    compiled = kvant.qjit(lambda x, t: kvant.jvp(f, [x], [t]))
    x = jnp.array([0.3, -0.7, 1.1])
    _close(compiled(x, x), jax.jvp(f, (x,), (x,)))
    text = compiled.mlir
    assert text.count("gradient.jvp") == 1 and "gradient.grad" not in text
    expanded = _expand(text)
    assert "_lambda_.jvp." in expanded and ".jacobian." not in expanded


def test_jvp_of_several_arguments_and_outputs_with_argnums():
    def f(x, y, n):
        return {"a": x * jnp.sum(y**2), "b": jnp.cos(y[0]) * x[1] * n}

    x, y = jnp.array([0.2, -0.4]), jnp.array([1.0, 2.0, 0.5])
    tx, ty = jnp.array([1.0, 0.0]), jnp.array([0.3, -0.1, 2.0])
    got = kvant.qjit(lambda x, y, tx, ty: kvant.jvp(f, [x, y, 3.0], [tx, ty], argnums=[0, 1]))(
        x, y, tx, ty
    )
    want = jax.jvp(lambda x, y: f(x, y, 3.0), (x, y), (tx, ty))
    _close(got, want)


def _circuits(diff_method):
    def body(p):
        qml.RX(p[0], wires=0)
        qml.RY(p[1] * p[0], wires=1)
        qml.CNOT(wires=[0, 1])
        qml.RZ(jnp.sin(p[2]), wires=1)
        qml.CRX(p[2], wires=[1, 0])
        return qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliZ(1) @ qml.PauliX(0))

    compiled = qml.qnode(qml.device("kvant.qubit", wires=2), diff_method=diff_method)(body)
    reference = qml.qnode(qml.device("default.qubit", wires=2))(body)
    return compiled, reference


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_jvp_through_a_qnode_against_default_qubit(diff_method):
    circuit, reference = _circuits(diff_method)
    x, t = jnp.array([0.3, -0.7, 1.1]), jnp.array([0.2, -0.5, 0.9])
    got = kvant.qjit(
        lambda x, t: kvant.jvp(lambda p: jnp.stack(circuit(jnp.tanh(p))) * p[1], [x], [t])
    )(x, t)
    want = jax.jvp(lambda p: jnp.stack(reference(jnp.tanh(p))) * p[1], (x,), (t,))
    _close(got, want, atol=1e-8)


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_jvp_of_a_qnode_with_a_loop_and_probabilities(diff_method):
    def body(p):
        @qml.for_loop(0, 3, 1)
        def layer(i):
            qml.RX(p[0] * (i + 1), wires=0)
            qml.CRY(p[1], wires=[0, 1])

        layer()
        return qml.probs(wires=[0, 1])

    circuit = qml.qnode(qml.device("kvant.qubit", wires=2), diff_method=diff_method)(body)
    reference = qml.qnode(qml.device("default.qubit", wires=2))(body)
    x, t = jnp.array([0.3, -0.7]), jnp.array([1.0, 0.5])
    _close(
        kvant.qjit(lambda x, t: kvant.jvp(circuit, [x], [t]))(x, t),
        jax.jvp(reference, (x,), (t,)),
        atol=1e-8,
    )


def test_jvp_through_pennylane_api():
    circuit, reference = _circuits("best")
    x, t = jnp.array([0.3, -0.7, 1.1]), jnp.array([0.2, -0.5, 0.9])
    got = qml.qjit(compiler="kvant")(lambda x, t: qml.jvp(circuit, [x], [t]))(x, t)
    _close(got, jax.jvp(reference, (x,), (t,)), atol=1e-8)


def test_jvp_of_grad_against_jax():
    h = lambda x: jnp.sum(jnp.sin(x) * x**2) + jnp.prod(x)
    x, t = jnp.array([0.3, -0.7]), jnp.array([1.0, 0.5])
    got = kvant.qjit(lambda x, t: kvant.jvp(kvant.grad(h), [x], [t]))(x, t)
    _close(got, jax.jvp(jax.grad(h), (x,), (t,)))


def test_jacobian_with_fewer_inputs_than_outputs_is_forward_mode():
    f = lambda x: jnp.concatenate([jnp.sin(x) * x[0], jnp.cos(x), x**3])
    x = jnp.array([0.3, -0.7])
    compiled = kvant.qjit(kvant.jacobian(f))
    _close(compiled(x), jax.jacfwd(f)(x))
    expanded = _expand(compiled.mlir)
    assert ".jacfwd." in expanded and ".jacobian." not in expanded


def test_jacobian_of_a_qnode_with_few_inputs_forward():
    def body(x):
        qml.RX(x[0], wires=0)
        qml.RY(x[1], wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.probs(wires=[0, 1])

    circuit = qml.qnode(qml.device("kvant.qubit", wires=2), diff_method="adjoint")(body)
    reference = qml.qnode(qml.device("default.qubit", wires=2))(body)
    x = jnp.array([0.4, -1.2])
    _close(kvant.qjit(kvant.jacobian(circuit))(x), jax.jacfwd(reference)(x), atol=1e-8)


def test_jacobian_falls_back_to_reverse_mode_without_tangent_rules():
    """stop_gradient has a reverse rule only: the Jacobian is still computed (reverse)."""
    f = lambda x: jnp.concatenate([jax.lax.stop_gradient(x) * x, x, x])
    x = jnp.array([0.3, -0.7])
    _close(kvant.qjit(kvant.jacobian(f))(x), jax.jacfwd(f)(x))


@pytest.mark.parametrize(
    "f, name",
    [
        (lambda x: jnp.linalg.cholesky(jnp.outer(x, x) + jnp.eye(2)), "cholesky"),
        (lambda x: jax.lax.stop_gradient(x) * x, "stop_gradient"),
    ],
)
def test_jvp_refuses_what_forward_mode_has_no_rule_for(f, name):
    x = jnp.array([0.3, -0.7])
    with pytest.raises(UnsupportedError, match=f"no tangent rule for .*{name}"):
        kvant.qjit(lambda x, t: kvant.jvp(f, [x], [t]))(x, x)


def test_jvp_with_method_fd_keeps_the_jacobian_path():
    f = CLASSICAL["elementwise"]
    x, t = jnp.array([0.3, -0.7, 1.1]), jnp.array([0.5, 1.5, -0.25])
    compiled = kvant.qjit(lambda x, t: kvant.jvp(f, [x], [t], method="fd"))
    _close(compiled(x, t), jax.jvp(f, (x,), (t,)), atol=1e-5)
    assert "gradient.jvp" not in compiled.mlir


def test_jvp_of_a_derivative_of_a_qnode_is_refused_by_name():
    circuit, _ = _circuits("adjoint")
    cost = lambda p: circuit(p)[0]
    x = jnp.array([0.3, -0.7, 1.1])
    with pytest.raises(UnsupportedError, match="no tangent rule for a derivative of a QNode"):
        kvant.qjit(lambda x, t: kvant.jvp(kvant.grad(cost), [x], [t]))(x, x)


def test_jvp_through_complex_values_contracts_the_jacobian():
    """Forward mode has no complex tangent rules yet: such a program keeps the Jacobian path
    (gradient.grad), with JAX's numbers."""
    f = lambda x: jnp.abs(jnp.exp(1j * x) * (x + 2j)) ** 2 + jnp.real(x * jnp.exp(1j * x[0]))
    x, t = jnp.array([0.3, -0.7, 1.1]), jnp.array([0.5, 1.5, -0.25])
    compiled = kvant.qjit(lambda x, t: kvant.jvp(f, [x], [t]))
    _close(compiled(x, t), jax.jvp(f, (x,), (t,)))
    assert "gradient.jvp" not in compiled.mlir and "gradient.grad" in compiled.mlir
