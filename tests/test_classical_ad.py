"""Reverse-mode differentiation of classical code (method="auto", the gradient-expand-auto pass):
every derivative rule, checked against jax.grad / jax.jacobian and against central finite
differences of the function itself."""

import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kvant

rng = np.random.default_rng(7)
X = rng.uniform(0.15, 0.85, size=5)
W = rng.normal(size=5)  # weights of the outputs: a non-uniform cotangent for every rule

#: one or more rules each: a vector function of x in (0.15, 0.85)^5
RULES = {
    "add sub mul div neg": lambda x: (x + 2 * x[::-1]) * (x - 0.3) / (1.5 + x) - (-x),
    "remainder": lambda x: jnp.fmod(3 * x, 0.7),
    "maximum minimum": lambda x: jnp.maximum(x, 0.5 * x[::-1]) + jnp.minimum(x, 0.5),
    "maximum tie (half each, as JAX)": lambda x: jnp.maximum(x, x) + jnp.minimum(2 * x, x + x),
    "where (select)": lambda x: jnp.where(x > 0.5, x**2, jnp.sin(x)),
    "float32 round trip": lambda x: (x.astype(jnp.float32) * 2).astype(jnp.float64),
    "sin cos tan": lambda x: jnp.sin(x) * jnp.cos(2 * x) + jnp.tan(x),
    "arcsin arccos arctan arctan2": lambda x: (
        jnp.arcsin(x) + jnp.arccos(x) * jnp.arctan(x) + jnp.arctan2(x, x[::-1] + 0.1)
    ),
    "sinh cosh tanh": lambda x: jnp.sinh(x) + jnp.cosh(x) * jnp.tanh(x),
    "arcsinh arccosh arctanh": lambda x: jnp.arcsinh(x) + jnp.arccosh(x + 1.5) + jnp.arctanh(x),
    "exp exp2 expm1": lambda x: jnp.exp(x) + jnp.exp2(x) - jnp.expm1(-x),
    "log log2 log10 log1p": lambda x: jnp.log(x) + jnp.log2(x) * jnp.log10(x) + jnp.log1p(x),
    "sqrt rsqrt cbrt": lambda x: jnp.sqrt(x) + jax.lax.rsqrt(x) + jnp.cbrt(x),
    "abs": lambda x: jnp.abs(x - 0.5),
    "erf erfc": lambda x: jax.scipy.special.erf(x) + jax.scipy.special.erfc(2 * x),
    "powers": lambda x: x**3 + x**-2 + x**2.5 + x**x,
    "copysign": lambda x: jnp.copysign(x, x - 0.5),
    "floor ceil round (zero derivative)": lambda x: (
        jnp.floor(3 * x) + jnp.ceil(x) + jnp.round(x) * x
    ),
    "sigmoid": lambda x: jax.nn.sigmoid(3 * x - 1),
    "sign (zero derivative)": lambda x: jnp.sign(x - 0.5) * x,
    "lax.round (half away from zero)": lambda x: jax.lax.round(3 * x) * x,
    "erfinv": lambda x: jax.scipy.special.erfinv(0.9 * x - 0.4),
}

#: structural ops: reshapes, slices, reductions, contractions (x has 5 elements)
M = rng.normal(size=(3, 5))
STRUCTURAL = {
    "static indexing and slices": lambda x: jnp.stack([x[1] * x[3], x[-1]]) + x[1:3] ** 2,
    "concatenate and pad": lambda x: jnp.concatenate([x, x[:2] * 3]) + jnp.pad(x, (1, 1))[:7],
    "reshape and transpose": lambda x: (
        jnp.concatenate([x, x[:1]]).reshape(2, 3).T * jnp.arange(6.0).reshape(3, 2)
    ).ravel(),
    "broadcasting": lambda x: (x[:, None] * x[None, :]).ravel(),
    "matmul and dot": lambda x: M @ jnp.sin(x) + jnp.dot(x, x) * M[:, 0],
    "sum mean": lambda x: jnp.stack([jnp.sum(x**2), jnp.mean(jnp.sqrt(x))]),
    "max min reductions": lambda x: jnp.stack([jnp.max(x * W), jnp.min(x)]),
    "max with ties (shared, as JAX)": lambda x: (
        jnp.max(jnp.concatenate([x, x])) + jnp.max(jnp.floor(x * 0))
    ),
    "axis reductions": lambda x: (
        jnp.sum(jnp.outer(x, x) * 2, axis=0) + jnp.max(jnp.outer(x, x[:3]), axis=1)
    ),
    "products": lambda x: (
        jnp.stack([jnp.prod(x), jnp.prod(x[:3] - x[1])])
        + jnp.prod(jnp.outer(x, x[:2]) - 0.5, axis=1)[:2]
    ),
    "products with zeros (exact, as JAX)": lambda x: jnp.stack(
        [
            jnp.prod(jnp.concatenate([x[:2], jnp.zeros(1), x[3:]])),  # one zero
            jnp.prod(jnp.concatenate([x[:1], jnp.zeros(2), x[3:]])),  # two zeros
            jnp.prod(jnp.where(x > 0.5, 0.0, x)),
        ]
    ),
    "sort, argsort, top_k": lambda x: (
        jnp.sort(x * W) + x[jnp.argsort(x)] * 2 + jnp.concatenate([jax.lax.top_k(x, 2)[0], x[:3]])
    ),
    "median and cumulative max": lambda x: jnp.stack(
        [jnp.median(x), jnp.sum(jax.lax.cummax(x[::-1]))]
    ),
    "scatter: at[].set / add / multiply": lambda x: (
        jnp.asarray(x)
        .at[1]
        .set(x[3] * 2)
        .at[jnp.array([0, 4])]
        .add(x[:2] ** 2)
        .at[2]
        .multiply(x[0])
    ),
    "gather and dynamic slices": lambda x: jnp.concatenate(
        [
            jnp.take(x, jnp.array([4, 0, 0, 2])) * x[:4],
            jax.lax.dynamic_update_slice(jnp.asarray(x), x[:2] * 3, ((x[0] * 10).astype(int) % 3,)),
            x[(x[0] * 10).astype(int) % 5][None] * x[1],
        ]
    ),
}


def _central_differences(f, x, h=1e-6):
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("name", list(RULES))
def test_rule_gradient(name):
    fn = RULES[name]
    cost = lambda x: jnp.sum(W * fn(x))
    got = kvant.qjit(kvant.grad(cost))(X)
    np.testing.assert_allclose(got, jax.grad(cost)(X), rtol=1e-9, atol=1e-12)
    # float32 steps: a step well above float32's resolution, and a tolerance to match
    h, tol = (1e-3, 1e-3) if "float32" in name else (1e-6, 1e-6)
    np.testing.assert_allclose(got, _central_differences(cost, X, h), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", list(STRUCTURAL))
def test_structural_jacobian(name):
    fn = STRUCTURAL[name]
    got = kvant.qjit(kvant.jacobian(fn))(X)
    np.testing.assert_allclose(got, jax.jacobian(fn)(X), rtol=1e-9, atol=1e-12)
    if "ties" not in name and "zeros" not in name:  # no derivative to difference there
        np.testing.assert_allclose(got, _central_differences(fn, X), rtol=1e-6, atol=1e-6)


def test_several_arguments_pytrees_and_constants():
    def cost(params, x, scale):
        h = jnp.tanh(params["w"] @ x + params["b"])
        return scale * jnp.sum(h**2) + jnp.sum(params["b"] * 0.1)

    params = {"w": rng.normal(size=(2, 5)), "b": rng.normal(size=2)}
    got = kvant.qjit(kvant.grad(cost, argnums=(0, 1)))(params, X, 0.7)
    want = jax.grad(cost, argnums=(0, 1))(params, X, 0.7)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


def test_nested_functions_are_differentiated_through():
    @jax.jit
    def inner(v):
        return jnp.sin(v) * v

    cost = lambda x: jnp.sum(inner(x) ** 2) + inner(x[0])
    np.testing.assert_allclose(kvant.qjit(kvant.grad(cost))(X), jax.grad(cost)(X), rtol=1e-9)


def test_second_derivatives():
    f = lambda x: jnp.sin(x) * x**2 + jnp.exp(-x)
    for x in (0.3, 1.7):
        got = kvant.qjit(kvant.grad(kvant.grad(f)))(x)
        np.testing.assert_allclose(got, jax.grad(jax.grad(f))(x), rtol=1e-9)
    # a Hessian row by row: grad of one component of a gradient
    g = lambda x: jnp.sum(jnp.sin(x) * x[::-1])
    hess_row = kvant.qjit(kvant.grad(lambda x: kvant.grad(g)(x)[1]))(X)
    np.testing.assert_allclose(hess_row, jax.hessian(g)(X)[1], rtol=1e-9, atol=1e-12)


def test_closed_form_a19():
    """A19 of docs/acceptance-gradients.md: grad(x**2) at 2.3 is 4.6, inside qjit and through
    qml.qjit."""
    import pennylane as qml

    assert kvant.qjit(kvant.grad(lambda x: x**2))(2.3) == pytest.approx(4.6, abs=1e-12)
    via_pennylane = qml.qjit(compiler="kvant")(lambda x: qml.grad(lambda y: y**2)(x))
    assert via_pennylane(2.3) == pytest.approx(4.6, abs=1e-12)


LOOPS = {
    "fori_loop, static bounds": lambda x: jax.lax.fori_loop(
        0, 4, lambda i, c: c * jnp.sin(x[0]) + x[1] * i, 1.0
    ),
    "fori_loop, vector state": lambda x: jnp.sum(
        jax.lax.fori_loop(0, 3, lambda i, c: jnp.tanh(c * x + i), x)
    ),
    "kvant.for_loop": lambda x: kvant.for_loop(0, 5, 1)(lambda i, c: c + jnp.sin(c * x[0]) * i)(
        x[1]
    ),
    "scan with stacked outputs": lambda x: jnp.sum(
        jax.lax.scan(lambda c, v: (c * v + 1.0, c * 2), x[0], x)[1] ** 2
    ),
    "cumsum": lambda x: jnp.sum(jnp.cumsum(x) ** 2),
    "nested loops": lambda x: jax.lax.fori_loop(
        0, 3, lambda i, c: jax.lax.fori_loop(0, 2, lambda j, d: d * x[0] + x[1] * j, c), 0.5
    ),
    "empty loop": lambda x: jax.lax.fori_loop(3, 3, lambda i, c: c * x[0], x[1]),
}

BRANCHES = {
    "lax.cond, true branch": lambda x: jax.lax.cond(
        x[0] > 0.3, lambda v: jnp.sin(v[1]) * v[0], lambda v: v[1] ** 2, x
    ),
    "lax.cond, false branch": lambda x: jax.lax.cond(
        x[0] > 0.9, lambda v: jnp.sin(v[1]) * v[0], lambda v: v[1] ** 2, x
    ),
    "cond inside a loop": lambda x: jax.lax.fori_loop(
        0, 3, lambda i, c: jax.lax.cond(i % 2 == 0, lambda c: c * x[0], lambda c: c + x[1], c), 1.0
    ),
    "kvant.cond with else_if": lambda x: (
        kvant.cond(x[0] > 0.9)(lambda: x[1])
        .else_if(x[0] > 0.3)(lambda: x[1] * x[2] * 3.0)
        .otherwise(lambda: x[2])()
    ),
    "lax.switch": lambda x: jax.lax.switch(
        (x[0] * 4).astype(int), [lambda v: v[0], lambda v: v[0] * v[1], lambda v: v[1]], x
    ),
}


@pytest.mark.parametrize("name", list(BRANCHES))
def test_branch_gradient(name):
    """scf.if / scf.index_switch: the branch that ran, reversed."""
    fn = BRANCHES[name]
    got = kvant.qjit(kvant.grad(fn))(X)
    np.testing.assert_allclose(got, jax.grad(fn)(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got, _central_differences(fn, X), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", list(LOOPS))
def test_loop_gradient(name):
    """scf.for: recorded loop state, then the iterations reversed."""
    fn = LOOPS[name]
    got = kvant.qjit(kvant.grad(fn))(X)
    np.testing.assert_allclose(got, jax.grad(fn)(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got, _central_differences(fn, X), rtol=1e-6, atol=1e-6)


def _doubling_until(x, limit):
    return jax.lax.while_loop(
        lambda c: c[0] < limit, lambda c: (c[0] * 2 + x[2], c[1] * jnp.cos(c[0])), (x[0], x[1])
    )[1]


def _doubling_unrolled(x, trips):
    c = (x[0], x[1])
    for _ in range(trips):
        c = (c[0] * 2 + x[2], c[1] * jnp.cos(c[0]))
    return c[1]


#: scf.while, which JAX cannot reverse: (function, the same function unrolled for X)
WHILE_LOOPS = {
    "fori_loop, traced bounds": (
        lambda x: jax.lax.fori_loop(
            0, (x[0] * 10).astype(int), lambda i, c: c * x[1] + jnp.sin(c), x[2]
        ),
        lambda x: _unrolled_fori(x, int(X[0] * 10)),
    ),
    "while_loop, condition on the state": (
        lambda x: _doubling_until(x, 5.0),
        lambda x: _doubling_unrolled(x, _trips(5.0)),
    ),
    "while_loop, no iteration": (
        lambda x: _doubling_until(x, 0.0),
        lambda x: _doubling_unrolled(x, 0),
    ),
    "kvant.while_loop, vector state": (
        lambda x: jnp.sum(
            kvant.while_loop(lambda i, v: i < 3)(lambda i, v: (i + 1, jnp.tanh(v * x + i)))(0, x)[1]
        ),
        lambda x: jnp.sum(_unrolled_tanh(x, 3)),
    ),
}


def _unrolled_fori(x, n):
    c = x[2]
    for _ in range(n):
        c = c * x[1] + jnp.sin(c)
    return c


def _unrolled_tanh(x, n):
    v = x
    for i in range(n):
        v = jnp.tanh(v * x + i)
    return v


def _trips(limit):
    c, n = X[0], 0
    while c < limit:
        c, n = c * 2 + X[2], n + 1
    return n


@pytest.mark.parametrize("name", list(WHILE_LOOPS))
def test_while_loop_gradient(name):
    """scf.while: iterations counted, recorded, then reversed; compared with the loop unrolled."""
    fn, unrolled = WHILE_LOOPS[name]
    got = kvant.qjit(kvant.grad(fn))(X)
    np.testing.assert_allclose(got, jax.grad(unrolled)(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got, _central_differences(fn, X), rtol=1e-6, atol=1e-6)


def test_loop_jacobian_runs_the_loop_once_per_evaluation():
    fn = lambda x: jax.lax.fori_loop(0, 3, lambda i, c: c * x + i, jnp.ones(5))
    np.testing.assert_allclose(
        kvant.qjit(kvant.jacobian(fn))(X), jax.jacobian(fn)(X), rtol=1e-9, atol=1e-12
    )


def test_sign_has_no_derivative_at_zero():
    """As JAX: sign(0) = 0 with derivative 0 (the value passes ±0 through, not its derivative)."""
    f = lambda x: jnp.sum(jnp.sign(x - X[1]) * x)
    np.testing.assert_allclose(kvant.qjit(kvant.grad(f))(X), jax.grad(f)(X), atol=1e-15)


def test_derivatives_have_their_arguments_dtype():
    """As JAX: a float32 argument of a float64 function gets a float32 gradient (auto and fd)."""
    f = lambda x, y: jnp.sum(jnp.sin(x).astype(jnp.float64) ** 2 * y)
    x, y = jnp.array([0.3, 0.6], dtype=jnp.float32), jnp.array([1.5, -0.5])
    want = jax.grad(f, argnums=(0, 1))(x, y)
    for method, tol in (("auto", 1e-6), ("fd", 0.2)):  # fd: x + 1e-7 is rounded in float32
        got = kvant.qjit(kvant.grad(f, argnums=(0, 1), method=method))(x, y)
        assert [g.dtype for g in got] == [jnp.float32, jnp.float64]
        np.testing.assert_allclose(got[0], want[0], rtol=tol, atol=tol)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6 if method == "fd" else 1e-12)


def _registered_rules():
    """The op names derivative rules are registered for, read from the rule tables' sources."""
    root = Path(__file__).resolve().parents[1] / "mlir" / "lib" / "Gradient" / "AutoDiff"
    names = set()
    for path in root.glob("*Rules.cpp"):
        text = path.read_text()
        names |= set(re.findall(r'\{"([a-z_]+\.[a-z_0-9]+)",', text))
        names |= set(re.findall(r'rules\.ops\["([a-z_]+\.[a-z_0-9]+)"\]', text))
    return names


def test_every_rule_is_checked_numerically():
    """Each registered rule occurs in a program above that is compared with finite differences:
    a new rule needs a numeric test here."""
    programs = [lambda x, f=f: jnp.sum(W * f(x)) for f in RULES.values()]
    programs += [lambda x, f=f: jnp.sum(W[:1] * jnp.ravel(f(x))[:1]) for f in STRUCTURAL.values()]
    programs += (
        list(BRANCHES.values()) + list(LOOPS.values()) + [f for f, _ in WHILE_LOOPS.values()]
    )
    # the complex rules, checked numerically in test_complex_derivatives.py
    import test_complex_derivatives as cx

    complex_programs = [
        *cx.ELEMENTWISE.values(),
        *cx.STRUCTURAL.values(),
        *cx.CONTROL_FLOW.values(),
        cx.SIGN_OF_COMPLEX,
    ]
    programs += [lambda x, f=f: jnp.sum(jnp.ravel(f(x[:4]))) for f in complex_programs]
    seen = set()
    for program in programs:
        compiled = kvant.qjit(kvant.grad(program))
        compiled(X)
        seen |= set(re.findall(r"\b([a-z_]+\.[a-z_0-9]+)\b", compiled.mlir))
    missing = sorted(_registered_rules() - seen - NOT_EMITTED_BY_THE_FRONTEND)
    assert len(_registered_rules()) > 50 and not missing, f"rules without a numeric test: {missing}"


#: Rules for ops the frontend does not emit (JAX expresses log2 through log, fmax through max
#: and select, pad through tensor.generate, ...) but that passes or other rules may create,
#: e.g. tensor.cast in derivatives of derivatives: their formulas are pinned by lit tests
#: (mlir/test/Gradient/*-rules.mlir).
NOT_EMITTED_BY_THE_FRONTEND = {
    "arith.maxnumf",
    "arith.minnumf",
    "linalg.matmul",  # a tangent rule only (forward-mode.mlir): generic form of a named op
    "math.fpowi",
    "math.log10",
    "math.log2",
    "math.trunc",
    "tensor.cast",
    "tensor.pad",
}
