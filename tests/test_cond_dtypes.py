"""Branches of ``kvant.cond`` / ``qml.cond`` that return different dtypes: the result has the
branches' common dtype (``jnp.promote_types`` over the branches, Catalyst's rule), inside and
outside QNodes; ``jax.lax.cond`` keeps JAX's rule (identical dtypes) and the error names the
branches and what each returned. References: ``jax.jit`` of ``jax.lax.cond`` with the branches
cast to the promoted dtype, PennyLane's default.qubit, and Catalyst itself where installed."""

import functools
import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import kvant

jax.config.update("jax_enable_x64", True)

# (name, value of the branch as a function of x): Python numbers are weakly typed in JAX
VALUES = {
    "bool": lambda x: x > 0.25,
    "py_int": lambda x: 3,
    "py_float": lambda x: 2.5,
    "int8": lambda x: jnp.int8(-2),
    "uint8": lambda x: jnp.uint8(7),
    "int32": lambda x: (x * 10).astype(jnp.int32),
    "int64": lambda x: (x * 100).astype(jnp.int64),
    "float32": lambda x: (x * 1.5).astype(jnp.float32),
    "float64": lambda x: x**2,
    "complex64": lambda x: (x * 1j).astype(jnp.complex64),
    "complex128": lambda x: x + 0.5j,
}


def _reference(fns, x, pred_values):
    """The chain's value computed by JAX: every branch cast to the promoted dtype first."""
    dtypes = [jax.eval_shape(fn, x).dtype for fn in fns]
    target = functools.reduce(jnp.promote_types, dtypes)
    index = next((k for k, p in enumerate(pred_values) if p), len(fns) - 1)
    return jax.jit(lambda x: jnp.asarray(fns[index](x)).astype(target))(x)


def _kvant_chain(fns, preds):
    """kvant.cond(pred0) ... else_if(pred1) ... otherwise, the branches being fns."""

    @kvant.qjit
    def f(x):
        chain = kvant.cond(preds[0](x))(lambda: fns[0](x))
        for p, fn in zip(preds[1:], fns[1:-1]):
            chain = chain.else_if(p(x))(lambda fn=fn: fn(x))
        chain = chain.otherwise(lambda: fns[-1](x))
        return chain()

    return f


PAIRS = [
    ("bool", "py_int"),
    ("py_int", "py_float"),
    ("int32", "float32"),
    ("bool", "float64"),
    ("float32", "py_float"),
    ("float64", "py_int"),
    ("int64", "float32"),
    ("uint8", "int8"),
    ("complex64", "float64"),
    ("int32", "complex128"),
    ("bool", "bool"),
]


@pytest.mark.parametrize("a, b", PAIRS)
@pytest.mark.parametrize("x", [0.75, 0.1])
def test_two_branches_promote(a, b, x):
    fns = [VALUES[a], VALUES[b]]
    preds = [lambda x: x > 0.5]
    got = _kvant_chain(fns, preds)(x)
    want = _reference(fns, jnp.asarray(x), [x > 0.5])
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)


def test_random_chains_with_pytrees():
    """Random chains of 2-4 branches, each returning a tuple and a dict of random dtypes."""
    rng = np.random.default_rng(14)
    names = list(VALUES)
    for trial in range(12):
        n = int(rng.integers(2, 5))
        picks = [[names[i] for i in rng.integers(0, len(names), 3)] for _ in range(n)]
        fns = [
            (lambda x, p=p: (VALUES[p[0]](x), {"a": VALUES[p[1]](x), "b": VALUES[p[2]](x)}))
            for p in picks
        ]
        thresholds = sorted(rng.uniform(0, 1, n - 1), reverse=True)
        preds = [lambda x, t=t: x > t for t in thresholds]
        f = _kvant_chain(fns, preds)
        for x in rng.uniform(0, 1, 3):
            got = f(x)
            index = next((k for k, t in enumerate(thresholds) if x > t), n - 1)
            leaves = [jax.tree_util.tree_leaves(jax.eval_shape(fn, x)) for fn in fns]
            for i, leaf in enumerate(jax.tree_util.tree_leaves(got)):
                target = functools.reduce(jnp.promote_types, [lv[i].dtype for lv in leaves])
                want = jnp.asarray(jax.tree_util.tree_leaves(fns[index](x))[i]).astype(target)
                assert leaf.dtype == target, (trial, picks, i)
                np.testing.assert_allclose(np.asarray(leaf), np.asarray(want), rtol=1e-6)


def test_qml_cond_under_qml_qjit_and_its_gradient():
    """Catalyst's documented example: a float branch and an int branch give a float; the
    gradient flows through the float branch and is 0 through the constant one."""

    @qml.qjit(compiler="kvant")
    def f(x):
        def square():
            return x**2

        def six():
            return 6

        return qml.cond(x > 1.5, square, six)()

    assert f(1.5).dtype == jnp.float64 and float(f(1.5)) == 6.0
    assert float(f(2.0)) == 4.0
    g = qml.qjit(qml.grad(lambda x: f.original_function(x)), compiler="kvant")
    assert float(g(2.0)) == pytest.approx(4.0) and float(g(1.0)) == 0.0


@pytest.mark.parametrize("diff_method", ["adjoint", "parameter-shift"])
def test_inside_qnode_classical_and_quantum_branches(diff_method):
    """Inside a QNode: a cond without gates returning float / int picks an angle; a cond whose
    branches apply gates returns bool / float / int; values and gradients against default.qubit
    running the same branches in Python."""

    def body(x, cond):
        angle = cond(x > 0.5, lambda: x * 2, lambda: 1)()

        def left():
            qml.RY(x, wires=1)
            return x > 0.8

        def right():
            qml.RX(angle, wires=1)
            return 3

        flag = cond(x < 0.3, left, right)()
        qml.RX(angle, wires=0)
        qml.RZ(flag * 0.7, wires=0)
        qml.CNOT(wires=[0, 1])
        qml.RY(flag * x, wires=1)
        return qml.expval(qml.PauliZ(0) @ qml.PauliX(1) + 0.3 * qml.PauliY(0))

    def python_cond(pred, t, f):
        return t if pred else f

    kv = qml.QNode(
        lambda x: body(x, kvant.cond), qml.device("kvant.qubit", wires=2), diff_method=diff_method
    )
    ref = qml.QNode(
        lambda x: body(x, python_cond), qml.device("default.qubit", wires=2), diff_method="backprop"
    )
    f = kvant.qjit(lambda x: (kv(x), kvant.grad(kv)(x)))
    for x in (0.9, 0.6, 0.2):
        value, grad = f(x)
        assert float(value) == pytest.approx(float(ref(jnp.asarray(x))), abs=1e-10)
        assert float(grad) == pytest.approx(float(jax.grad(ref)(jnp.asarray(x))), abs=1e-8)


def test_cond_on_mid_circuit_measurement_returns_promoted_value():
    """qml.cond on a measured bit returning an int or a float, the value feeding a rotation:
    the statistics of the mixture (deferred) against default.qubit."""

    def body(x, cond):
        qml.RX(x, wires=0)
        m = qml.measure(0)
        angle = cond(m, lambda: 1, lambda: x / 2)()
        qml.RY(angle, wires=1)
        return qml.expval(qml.PauliZ(1))

    kv = qml.QNode(lambda x: body(x, qml.cond), qml.device("lightning.qubit", wires=2))

    def ref(x):
        # the mixture over the outcome: P(1) = sin²(x/2)
        p1 = np.sin(x / 2) ** 2
        return p1 * np.cos(1.0) + (1 - p1) * np.cos(x / 2)

    f = qml.qjit(kv, compiler="kvant")
    for x in (0.4, 2.1):
        assert float(f(x)) == pytest.approx(ref(x), abs=1e-10)


def test_shapes_that_differ_are_named():
    @kvant.qjit
    def f(x):
        def vector():
            return jnp.ones(3) * x

        def scalar():
            return x

        return kvant.cond(x > 0)(vector).otherwise(scalar)()

    with pytest.raises(TypeError) as info:
        f(1.0)
    text = str(info.value)
    assert "the cond branch 'vector'" in text and "the otherwise branch 'scalar'" in text
    assert "float64[3]" in text and "float64[]" in text and "shapes" in text


def test_structures_that_differ_are_named():
    @kvant.qjit
    def f(x):
        return kvant.cond(x > 0, lambda: (x, x), lambda: x)()

    with pytest.raises(TypeError, match="the cond branch '<lambda>'.*the otherwise branch"):
        f(1.0)


def test_lax_cond_inside_qnode_keeps_jax_rule_and_names_branches():
    """jax.lax.cond refuses different dtypes, in JAX and inside a QNode kvant traces; the
    message says which function returned what."""

    def true_fun(x):
        return x

    def false_fun(x):
        return 2

    with pytest.raises(TypeError):  # JAX's own rule
        jax.make_jaxpr(lambda x: jax.lax.cond(x > 0, true_fun, false_fun, x))(1.0)

    @qml.qnode(qml.device("kvant.qubit", wires=1))
    def circuit(x):
        qml.RX(jax.lax.cond(x > 0, true_fun, false_fun, x), wires=0)
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(TypeError) as info:
        kvant.qjit(circuit)(1.0)
    text = str(info.value)
    assert "true_fun 'true_fun'" in text and "false_fun 'false_fun'" in text
    assert "float64[]" in text and "int64[]" in text


@pytest.mark.skipif(
    importlib.util.find_spec("catalyst") is None, reason="Catalyst is not installed (make bench)"
)
def test_same_dtypes_and_values_as_catalyst():
    results = {}
    for compiler in ("catalyst", "kvant"):
        for a, b in PAIRS[:8]:
            fns = (VALUES[a], VALUES[b])
            f = qml.qjit(lambda x, fns=fns: qml.cond(x > 0.5, fns[0], fns[1])(x), compiler=compiler)
            results.setdefault((a, b), []).append([f(0.75), f(0.1)])
    for pair, (catalyst, ours) in results.items():
        for c, k in zip(catalyst, ours):
            assert c.dtype == k.dtype, pair
            np.testing.assert_allclose(np.asarray(c), np.asarray(k), rtol=1e-6)
