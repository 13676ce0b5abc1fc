"""Array primitives compiled by kvant against JAX: shapes, reductions, contractions, scans,
sorting, and indexing (gather and the scatter family)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_classical_lowering import assert_matches_jax

lax = jax.lax
rng = np.random.default_rng(11)
A = rng.normal(size=(3, 4))
B = rng.normal(size=(4, 2))
T = rng.normal(size=(2, 3, 4))
T3 = rng.normal(size=(3, 4, 2))
V = rng.normal(size=5)
N = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
I1 = np.int64(1)

SHAPES = {
    "broadcast_in_dim": (
        lambda v, m: (
            jnp.broadcast_to(v[:, None, None], (5, 2, 3)),
            lax.broadcast_in_dim(m[:, :1], (2, 3, 4), (1, 2)),
            lax.broadcast_in_dim(2.0, (2, 2), ()),
            m[None] + m[:, None, :1],
        ),
        (V, A),
    ),
    "reshape squeeze expand_dims": (
        lambda t: (
            t.reshape(4, 6),
            t.reshape(-1),
            jnp.squeeze(t[:, :1, :]),
            jnp.expand_dims(t, 1),
            t[..., None],
            lax.squeeze(t[:1], (0,)),
        ),
        (T,),
    ),
    "transpose": (
        lambda t: (jnp.transpose(t, (2, 0, 1)), t.T, jnp.swapaxes(t, 0, 1), jnp.moveaxis(t, 2, 0)),
        (T,),
    ),
    "rev": (lambda t: (jnp.flip(t, 1), t[::-1], jnp.flip(t), lax.rev(t, (0, 2))), (T,)),
    "pad": (
        lambda m: (
            jnp.pad(m, ((1, 2), (0, 3))),
            jnp.pad(m, 1, constant_values=-2.0),
            lax.pad(m, 0.5, ((1, -1, 1), (-1, 2, 2))),
            lax.pad(m, 0.0, ((-2, 0, 0), (0, -3, 0))),
        ),
        (A,),
    ),
    "pad integers": (
        lambda n: (
            jnp.pad(n, 2, constant_values=7),
            lax.pad(n, np.int32(0), ((0, 0, 2), (1, 1, 1))),
        ),
        (N,),
    ),
    "concatenate and stack": (
        lambda m, n: (
            jnp.concatenate([m, m * 2], axis=1),
            jnp.stack([m, m], axis=2),
            jnp.hstack([n, n]),
            jnp.vstack([n, n[:1]]),
        ),
        (A, N),
    ),
    "split": (
        lambda v, m: (
            jnp.split(v[:4], 2),
            jnp.split(v, [1, 4]),
            jnp.array_split(v, 3),
            jnp.split(m, 2, axis=1),
        ),
        (V, A),
    ),
    # jnp.diagonal goes through lax.platform_dependent (platform_index + cond)
    "diagonal and trace": (
        lambda m: (jnp.diagonal(m), jnp.trace(m), jnp.diagonal(m, 1), jnp.diag(m[0])),
        (A,),
    ),
    "slices with strides": (
        lambda t: (t[:, ::2, 1::3], t[1, 1:, ::-2], lax.slice(t, (0, 1, 0), (2, 3, 4), (1, 1, 3))),
        (T,),
    ),
    "iota and friends": (
        lambda v: (
            jnp.arange(6),
            jnp.arange(2.0, 5.0, 0.5),
            jnp.eye(3),
            jnp.tri(3, 4),
            jnp.triu(jnp.ones((3, 3))),
            jnp.linspace(0.0, 1.0, 5),
            v * jnp.arange(5),
        ),
        (V,),
    ),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_shapes(name):
    fn, args = SHAPES[name]
    assert_matches_jax(fn, args)


REDUCTIONS = {
    "sum prod max min (float)": (
        lambda m: (
            jnp.sum(m),
            jnp.sum(m, 0),
            jnp.prod(m, 1),
            jnp.max(m, 0),
            jnp.min(m),
            jnp.mean(m, 1),
            jnp.var(m),
            jnp.std(m, 0),
        ),
        (A,),
    ),
    "max min with NaN": (
        lambda m: (jnp.max(m, 1), jnp.min(m, 0), jnp.nanmax(m, 1), jnp.nansum(m)),
        (np.where(A > 1.0, np.nan, A),),
    ),
    "sum prod max min (int)": (
        lambda n: (jnp.sum(n), jnp.sum(n, 1), jnp.prod(n + 6, 0), jnp.max(n, 0), jnp.min(n, 1)),
        (N,),
    ),
    "max min (uint8)": (
        lambda u: (jnp.max(u, 0), jnp.min(u, 1), jnp.sum(u, 0)),
        (np.array([[0, 200], [255, 3]], dtype=np.uint8),),
    ),
    # booleans are i8 in kvant: and/or/xor must treat them as 0/1 bytes
    "and or xor (bool)": (
        lambda m: (
            jnp.all(m > 0),
            jnp.any(m > 0, axis=0),
            jnp.all(m > -5, axis=1),
            lax.reduce_xor(m > 0, (0,)),
            jnp.any(m > 10),
            jnp.max(m > 0, 1),
            jnp.min(m > 0, 0),
            jnp.sum(m > 0),
            jnp.count_nonzero(m > 0, axis=1),
        ),
        (A,),
    ),
    "and or xor (int)": (
        lambda n: (lax.reduce_and(n, (0,)), lax.reduce_or(n, (1,)), lax.reduce_xor(n, (0, 1))),
        (N,),
    ),
    "argmax argmin": (
        lambda m: (
            jnp.argmax(m),
            jnp.argmax(m, axis=0),
            jnp.argmin(m, axis=1),
            lax.argmax(m, 1, jnp.int32),
            lax.argmin(m, 0, jnp.int32),
        ),
        (A,),
    ),
    "argmax argmin ties and NaN": (
        lambda m: (jnp.argmax(m, 1), jnp.argmin(m, 1)),
        (
            np.array(
                [
                    [1.0, 3.0, 3.0, np.nan],
                    [np.nan, np.nan, 0.0, 0.0],
                    [-np.inf] * 4,
                    [2.0, 2.0, 1.0, 1.0],
                ]
            ),
        ),
    ),
    "argmax argmin (int)": (
        lambda n: (jnp.argmax(n, 0), jnp.argmin(n, 1), jnp.argmax(n > 0, 1)),
        (N % 5,),
    ),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reductions(name):
    fn, args = REDUCTIONS[name]
    assert_matches_jax(fn, args)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64])
def test_dot_general(dtype):
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else {}
    a, b = (A * 3).astype(dtype), (B * 3).astype(dtype)
    t, u = (T * 3).astype(dtype), rng.normal(size=(2, 4, 5)).astype(dtype) * 3
    v = (V[:4] * 3).astype(dtype)
    fn = lambda a, b, t, u, v: (
        a @ b,
        a @ v,
        v @ b,
        v @ v,
        jnp.outer(v, v),
        jnp.einsum("bij,bjk->bik", t, u),
        jnp.einsum("bij,bik->bjk", t, t),
        jnp.tensordot(t, a, axes=([1, 2], [0, 1])),
        jnp.einsum("ij,ij->i", a, a),
    )
    assert_matches_jax(fn, (a, b, t, u, v), **tol)


def test_dot_general_with_preferred_element_type():
    fn = lambda a, n: (
        lax.dot(a, n.astype(jnp.float64)),
        lax.dot(n.T, n, preferred_element_type=jnp.int64),
        lax.dot(n[:, :2], a[:2], preferred_element_type=jnp.float64),
    )
    assert_matches_jax(fn, (A.T.copy(), N))


CUMULATIVE = {
    "float": (
        lambda m: (
            jnp.cumsum(m, 0),
            jnp.cumprod(m, 1),
            lax.cummax(m, 1),
            lax.cummin(m, 0, reverse=True),
            lax.cumsum(m, 1, reverse=True),
            lax.cumlogsumexp(m, 1),
            jnp.cumsum(m),
        ),
        (A,),
    ),
    "one dimension": (
        lambda v: (
            jnp.cumsum(v),
            lax.cumprod(v, reverse=True),
            lax.cumlogsumexp(v, reverse=True),
            lax.cummax(v),
            jnp.cumsum(v[:1]),
        ),
        (V,),
    ),
    "int and bool": (
        lambda n: (
            jnp.cumsum(n, 1),
            lax.cummax(n, 0),
            jnp.cumprod(n % 3 + 1, 0),
            jnp.cumsum(n > 0, 1),
            lax.cummin(n, 1, reverse=True),
        ),
        (N,),
    ),
    "float32": (lambda m: (jnp.cumsum(m, 0), lax.cummax(m, 1)), (A.astype(np.float32),)),
}


@pytest.mark.parametrize("name", list(CUMULATIVE))
def test_cumulative(name):
    fn, args = CUMULATIVE[name]
    assert_matches_jax(fn, args)


SORTS = {
    "sort and argsort": (
        lambda v: (jnp.sort(v), jnp.argsort(v), jnp.argsort(-v), jnp.sort(v)[::-1]),
        (V,),
    ),
    "along either axis": (
        lambda m: (
            jnp.sort(m, axis=0),
            jnp.argsort(m, axis=1),
            jnp.sort(m, axis=None),
            jnp.argsort(m, axis=0),
        ),
        (A,),
    ),
    # NaN last, -0.0 == 0.0, ties stable
    "NaN, signed zeros and ties": (
        lambda v: (jnp.sort(v), jnp.argsort(v)),
        (np.array([3.0, np.nan, -0.0, 0.0, 1.0, -np.inf, 1.0, np.nan, np.inf, -1.0]),),
    ),
    "integers": (
        lambda v: (
            jnp.sort(v),
            jnp.argsort(v),
            jnp.argsort(v, descending=True),
            jnp.unique_values(v, size=5),
        ),
        (np.array([3, -1, 3, 0, 7, -9, 0], dtype=np.int32),),
    ),
    "complex": (
        lambda z: (jnp.sort(z), jnp.argsort(z)),
        (np.array([1 + 2j, 1 - 1j, -3 + 0j, 1 + 2j, 0.5j]),),
    ),
    "several keys and operands": (
        lambda k, x: (
            lax.sort((k, x, x * 10), num_keys=2),
            lax.sort((k, x), num_keys=1),
            lax.sort_key_val(k, x),
        ),
        (np.array([2, 1, 2, 1, 0], dtype=np.int32), np.array([5.0, 3.0, 1.0, 4.0, 9.0])),
    ),
    "bool and uint8": (
        lambda p, u: (jnp.sort(p), jnp.sort(u), jnp.argsort(u)),
        (np.array([True, False, True]), np.array([200, 3, 255, 0], dtype=np.uint8)),
    ),
    "top-k style": (lambda v: jnp.argsort(v)[-2:], (V,)),
    # top_k: largest first, ties by index, NaN above +inf and +0.0 above -0.0 (total order)
    "top_k": (
        lambda v, m, s: (lax.top_k(v, 3), lax.top_k(m, 2), lax.top_k(s, 9), jnp.partition(v, 2)[2]),
        (V, A, np.array([3.0, np.nan, -0.0, 0.0, 1.0, -np.inf, 1.0, np.inf, -1.0])),
    ),
    "top_k integers": (
        lambda v: lax.top_k(v, 4),
        (np.array([3, 1, 3, -5, 7, 7, 0], dtype=np.int32),),
    ),
    # searchsorted and interp compare in total order (lt_to, le_to)
    "searchsorted and interp": (
        lambda v, q: (
            jnp.searchsorted(jnp.sort(v), q),
            jnp.searchsorted(jnp.sort(v), q, side="right"),
            jnp.interp(q, jnp.array([0.0, 1.0, 2.0]), jnp.array([1.0, 3.0, 2.0])),
        ),
        (V, np.array([-1.0, 0.0, 0.5, 3.0, np.nan])),
    ),
    "statistics": (
        lambda m: (jnp.corrcoef(m), jnp.cov(m), jnp.median(m, 1), jnp.percentile(m, 30.0)),
        (A,),
    ),
}


@pytest.mark.parametrize("name", list(SORTS))
def test_sort(name):
    fn, args = SORTS[name]
    assert_matches_jax(fn, args)


GATHERS = {
    "basic indexing": (
        lambda m, i: (m[i], m[i, 2], m[:, i], m[-1], m[-1, i], m[1:, i], m[i, ::2]),
        (A, I1),
    ),
    "integer arrays": (
        lambda m, i: (
            m[np.array([0, 2, 2])],
            m[jnp.array([2, 0])][:, jnp.array([1, 3])],
            m[jnp.array([0, 2]), jnp.array([1, 3])],
            m[jnp.array([[0, 1], [2, 2]])],
            jnp.take(m, jnp.array([3, 0]), axis=1),
        ),
        (A, I1),
    ),
    "negative and out-of-range indices (clamped)": (
        lambda m, i: (m[i], m[:, i], m[i - 7]),
        (A, np.int64(-2)),
    ),
    "fill mode": (
        lambda m, i: (
            m.at[i].get(mode="fill"),
            m.at[i + 5].get(mode="fill"),
            m.at[i - 4].get(mode="fill", fill_value=-1.0),
            jnp.arange(5).at[i + 6].get(mode="fill"),
            jnp.take(m, jnp.array([0, 7]), axis=1, mode="fill"),
        ),
        (A, I1),
    ),
    "int32 indices and int data": (
        lambda n, i: (n[i], n[:, i], n[jnp.array([2, 1], dtype=jnp.int32)]),
        (N, np.int32(2)),
    ),
    "dynamic slices": (
        lambda m, i: (
            lax.dynamic_slice(m, (i, 1), (2, 2)),
            lax.dynamic_slice(m, (i + 5, -3), (2, 2)),
            lax.dynamic_update_slice(m, jnp.ones((1, 2)), (i, 2)),
            lax.dynamic_update_slice(m, jnp.ones((2, 2)), (i + 9, -1)),
            lax.dynamic_index_in_dim(m, i, 1, keepdims=False),
        ),
        (A, I1),
    ),
    # jax.vmap turns the indexed dimension into a batching dimension of the gather
    "vmapped indexing (batching dims)": (
        lambda t, j: (
            jax.vmap(lambda x, i: x[i])(t, j),
            jax.vmap(lambda x, i: x[i, ::-1])(t, j),
            jax.vmap(jax.vmap(lambda x, i: x[i], in_axes=(1, None)), in_axes=(0, 0))(t, j),
            jax.vmap(lambda x, i: x[jnp.array([i, 0])], in_axes=(2, None))(t, j[0]),
            jax.vmap(jax.vmap(lambda x, i: x[i]))(t, (j[:, None] + jnp.arange(4)) % 2),
        ),
        (T3, np.array([3, 0, 1])),
    ),
}


@pytest.mark.parametrize("name", list(GATHERS))
def test_gather(name):
    fn, args = GATHERS[name]
    assert_matches_jax(fn, args)


SCATTERS = {
    "set": (
        lambda m, i: (
            m.at[i].set(0.0),
            m.at[i, 1].set(5.0),
            m.at[:, i].set(jnp.ones(3)),
            m.at[-1].set(jnp.arange(4.0)),
            m.at[jnp.array([0, 2])].set(jnp.ones((2, 4))),
            m.at[1:, i].set(9.0),
        ),
        (A, I1),
    ),
    "add with repeated indices": (
        lambda m, i: (
            m.at[i].add(1.0),
            m.at[jnp.array([0, 0, 2])].add(1.0),
            m.at[jnp.array([0, 0, 2]), jnp.array([1, 1, 3])].add(2.0),
            m.at[:, i].add(jnp.arange(3.0)),
        ),
        (A, I1),
    ),
    "mul min max subtract": (
        lambda m, i: (
            m.at[i].mul(3.0),
            m.at[:, i].min(0.0),
            m.at[i, :2].max(0.5),
            m.at[i].subtract(1.0),
        ),
        (A, I1),
    ),
    "out-of-bounds updates are dropped": (
        lambda m, i: (
            m.at[i + 5].set(0.0),
            m.at[jnp.array([0, 9])].add(1.0),
            m.at[i + 5].set(0.0, mode="clip"),
            m.at[i - 9].add(1.0),
        ),
        (A, I1),
    ),
    "integers": (
        lambda v, i: (
            v.at[i].add(10),
            v.at[jnp.array([1, 1, 1])].add(1),
            jnp.zeros(4, jnp.int32).at[v % 4].add(1),
            jnp.bincount(v, length=6),
        ),
        (np.array([3, 1, 4, 1, 5], dtype=np.int32), np.int64(2)),
    ),
    "complex and bool": (
        lambda z, p, i: (z.at[i].set(1j), z.at[i].add(2 + 1j), p.at[i].set(True)),
        (V + 1j * V, np.array([False, False, True, False, True]), np.int64(2)),
    ),
    "vmapped updates (batching dims)": (
        lambda t, j: (
            jax.vmap(lambda x, i: x.at[i].add(7.0))(t, j),
            jax.vmap(lambda x, i: x.at[i, 0].set(-1.0))(t, j),
            jax.vmap(lambda x, i: x.at[jnp.array([i, i])].mul(3.0))(t, j),
            jax.vmap(
                jax.vmap(lambda x, i: x.at[i].add(1.0), in_axes=(1, None), out_axes=1),
                in_axes=(0, 0),
            )(t, j),
            jax.vmap(jax.vmap(lambda x, i: x.at[i].add(1.0)))(t, (j[:, None] + jnp.arange(4)) % 2),
        ),
        (T3, np.array([3, 0, 1])),
    ),
}


@pytest.mark.parametrize("name", list(SCATTERS))
def test_scatter(name):
    fn, args = SCATTERS[name]
    assert_matches_jax(fn, args)


def test_checkpoint_runs_inline():
    assert_matches_jax(lambda v: jax.checkpoint(lambda x: jnp.sin(x) * jnp.cumsum(x))(v), (V,))
