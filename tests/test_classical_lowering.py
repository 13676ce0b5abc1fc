"""Classical JAX code compiled by kvant, against JAX itself running the same function.

``assert_matches_jax`` is shared by the other ``test_classical_*`` files: a program matches when
every output has JAX's value, shape and dtype, and no i1 tensor appears in kvant's MLIR (MLIR
22.1.8 cannot lower i1 memrefs, so booleans must stay i8 tensors until bufferization).
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kvant

_I1_TENSOR = re.compile(r"tensor<[^<>]*\bi1>")


def assert_matches_jax(fn, args, rtol=1e-6, atol=1e-12):
    compiled = kvant.qjit(fn)
    got = compiled(*args)
    want = jax.jit(fn)(*args)
    assert not _I1_TENSOR.search(compiled.mlir), "an i1 tensor reached kvant's MLIR"
    got_leaves, got_tree = jax.tree_util.tree_flatten(got)
    want_leaves, want_tree = jax.tree_util.tree_flatten(want)
    assert got_tree == want_tree
    for k, (g, w) in enumerate(zip(got_leaves, want_leaves)):
        g, w = np.asarray(g), np.asarray(w)
        assert (g.shape, g.dtype) == (w.shape, w.dtype), (
            f"output {k}: {g.shape} {g.dtype} != {w.shape} {w.dtype}"
        )
        if np.issubdtype(w.dtype, np.inexact):
            np.testing.assert_allclose(
                g, w, rtol=rtol, atol=atol, equal_nan=True, err_msg=f"output {k}"
            )
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"output {k}")


rng = np.random.default_rng(1234)
A = rng.normal(size=(3, 4))
B = rng.normal(size=(4, 2))
V = rng.uniform(0.1, 0.9, size=4)

PROGRAMS = {
    "arithmetic": (lambda x, y: (x + y) * (x - y) / (1.5 + y**2) - x, (V, 0.3)),
    "unary math": (
        lambda x: (
            jnp.sin(x)
            + jnp.cos(x) * jnp.tan(x)
            + jnp.exp(-x)
            + jnp.log1p(x)
            + jnp.sqrt(x)
            + jnp.arctan(x)
            + jnp.tanh(x)
            + jnp.arcsin(x)
            + jnp.arccos(x)
            + jax.nn.sigmoid(x)
            + jax.lax.rsqrt(x)
            + jax.scipy.special.erf(x)
        ),
        (V,),
    ),
    "powers": (lambda x: x**3 + x**-2 + x**0.5 + x**x, (V,)),
    "reductions": (
        lambda m: (jnp.sum(m), jnp.sum(m, axis=0), jnp.max(m, axis=1), jnp.min(m), jnp.prod(m[0])),
        (A,),
    ),
    "matmul and dot": (lambda a, b, v: (a @ b, b.T @ v, v @ v, jnp.outer(v, v)), (A, B, V)),
    "indexing and slicing": (
        lambda m, i: (
            m[1],
            m[:, 2],
            m[1:3, ::2],
            m[2, 3],
            m[i],
            m[-1, i],
            m.reshape(4, 3),
            m.T,
            jax.lax.dynamic_slice(m, (i, 1), (2, 2)),
            jax.lax.dynamic_update_slice(m, jnp.ones((1, 2)), (i, 2)),
        ),
        (A, np.int64(1)),
    ),
    "broadcasting": (lambda m, v: (m + v, m * 2.0, jnp.broadcast_to(v[:, None], (4, 5))), (A, V)),
    "comparison and select": (
        lambda x, y: (
            jnp.where(x > y, x, y),
            jnp.maximum(x, 0.5),
            jnp.abs(x - 0.5),
            jnp.sign(x - 0.5),
        ),
        (V, V[::-1].copy()),
    ),
    "dtype conversions": (
        lambda x, n: (
            x.astype(jnp.float32).astype(jnp.float64) * n,
            (x * 10).astype(jnp.int32),
            n + 1,
        ),
        (V, np.int64(3)),
    ),
    "concatenate and stack": (
        lambda x, y: (jnp.concatenate([x, y]), jnp.stack([x, y])),
        (V, V * 2),
    ),
    "nested jit": (lambda x: jax.jit(lambda z: jnp.sin(z) * 2)(x) + jax.jit(jnp.cos)(x), (V,)),
    # jnp.remainder is a nested jit named `remainder`, like the libm function: it must not bind
    # to libm when the program is loaded
    "modulo": (lambda n, x: (n % 3, x % 0.3, jnp.floor_divide(n, 4)), (np.arange(-5, 6), V)),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_matches_jax(name):
    fn, args = PROGRAMS[name]
    assert_matches_jax(fn, args)
