"""Dense linear algebra (LAPACK through the runtime) and ``jax.random`` in compiled code, against
``jax.jit`` of the same functions (and ``jax.grad`` / ``jax.jacobian`` for derivatives)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kvant

jax.config.update("jax_enable_x64", True)


def _assert_bits_equal(got, want):
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, g.shape, w.dtype, w.shape)
        np.testing.assert_array_equal(g, w)


# -- jax.random ------------------------------------------------------------------------------


def _draws(seed):
    key = jax.random.PRNGKey(seed)
    k1, k2, k3 = jax.random.split(key, 3)
    k4 = jax.random.fold_in(k1, 7)
    return (
        key,
        jax.random.split(k2, (2, 3)),
        k4,
        jax.random.uniform(k2, (5,)),
        jax.random.uniform(k4, (3,), dtype=jnp.float32),
        jax.random.bernoulli(k1, 0.3, (7,)),
        jax.random.randint(k2, (3, 2), 0, 10),
        jax.random.randint(k3, (4,), -1000, 1000000, dtype=jnp.int32),
        jax.random.bits(k4, (3,), dtype=jnp.uint32),
        jax.random.bits(k4, (5,), dtype=jnp.uint8),
        jax.random.bits(k1, (3,), dtype=jnp.uint16),
        jax.random.bits(k1, (2,), dtype=jnp.uint64),
    )


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1, -5, 2**40 + 3])
def test_keys_and_bit_level_draws_are_bit_identical_to_jax(seed):
    got = kvant.qjit(_draws)(seed)
    _assert_bits_equal(got, jax.jit(_draws)(seed))


@pytest.mark.parametrize("partitionable", [True, False])
def test_both_threefry_counter_layouts(partitionable):
    """jax_threefry_partitionable changes how counters are laid out; kvant follows the flag."""
    old = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", partitionable)
    try:
        f = lambda s: _draws(s)[1:]
        for seed in (3, 17):
            _assert_bits_equal(kvant.qjit(f)(seed), jax.jit(f)(seed))
    finally:
        jax.config.update("jax_threefry_partitionable", old)


def test_new_style_typed_keys_and_key_arrays():
    def f(seed, data):
        key = jax.random.key(seed)
        keys = jax.random.split(key, 4)
        picked = jnp.where(data > 0, keys[1], keys[2])  # select_n on keys
        folded = jax.random.fold_in(picked, data)
        more = jax.vmap(lambda k: jax.random.uniform(k, (2,)))(keys)
        return (
            jax.random.key_data(keys),
            jax.random.key_data(folded),
            more,
            jax.random.uniform(keys[3], (3,)),
            jax.random.key_data(jnp.concatenate([keys[:1], keys[3:]])),
        )

    for seed, data in [(0, 1), (5, -1), (123456789, 3)]:
        _assert_bits_equal(kvant.qjit(f)(seed, data), jax.jit(f)(seed, data))


def test_raw_key_arguments_many_keys():
    rng = np.random.default_rng(0)
    f = lambda key: (jax.random.uniform(key, (4,)), jax.random.split(key), jax.random.bits(key))
    compiled = kvant.qjit(f)
    for _ in range(20):
        key = rng.integers(0, 2**32, size=2, dtype=np.uint32)
        _assert_bits_equal(compiled(key), jax.jit(f)(key))


def test_scaled_draws_match_jax_to_rounding():
    """Draws that transform the bit-identical uniforms with floating-point arithmetic agree to
    rounding, not bit for bit: XLA's CPU code contracts ``u * (max - min) + min`` into one fused
    multiply-add, and the normal draw applies erf⁻¹, of which kvant and XLA have different
    float64 implementations."""

    def f(seed):
        k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
        return (
            jax.random.normal(k1, (50,)),
            jax.random.normal(k2, (3, 3), dtype=jnp.float32),
            jax.random.uniform(k3, (20,), minval=-2.0, maxval=3.0),
        )

    for seed in (0, 9):
        got, want = kvant.qjit(f)(seed), jax.jit(f)(seed)
        np.testing.assert_allclose(got[0], want[0], rtol=4e-15, atol=1e-15)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(got[2], want[2], rtol=0, atol=5e-16)


def test_random_in_loops_and_with_quantum_circuit():
    import pennylane as qml

    dev = qml.device("default.qubit", wires=1)

    @qml.qnode(dev)
    def circuit(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    def f(seed):
        def body(i, carry):
            key, acc = carry
            key, sub = jax.random.split(key)
            return key, acc + circuit(jax.random.uniform(sub, minval=0.0, maxval=jnp.pi))

        return jax.lax.fori_loop(0, 5, body, (jax.random.PRNGKey(seed), 0.0))[1]

    np.testing.assert_allclose(kvant.qjit(f)(4), jax.jit(f)(4), rtol=1e-12)


def test_other_prng_implementations_are_refused():
    def f(seed):
        return jax.random.uniform(jax.random.key(seed, impl="rbg"), (2,))

    with pytest.raises(kvant.UnsupportedError, match="threefry2x32"):
        kvant.qjit(f)(0)


# -- dense linear algebra ----------------------------------------------------------------------

_RNG = np.random.default_rng(1234)


def _matrix(n, m=None, *, dtype=np.float64, batch=()):
    m = n if m is None else m
    a = _RNG.normal(size=(*batch, n, m))
    if np.dtype(dtype).kind == "c":
        a = a + 1j * _RNG.normal(size=(*batch, n, m))
    return a.astype(dtype)


def _spd(n, *, dtype=np.float64):
    a = _matrix(n, dtype=dtype)
    return a @ np.conj(a.T) + n * np.eye(n)


def _check_values(f, *args, rtol=1e-10, atol=1e-10):
    got, want = kvant.qjit(f)(*args), jax.jit(f)(*args)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        assert np.asarray(g).shape == np.asarray(w).shape
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol)


def _check_grad(f, *args, argnums=0, rtol=1e-8, atol=1e-9):
    """kvant.grad inside qjit against jax.grad (both of the same real scalar function)."""
    got = kvant.qjit(lambda *a: kvant.grad(f, argnums=argnums)(*a))(*args)
    want = jax.grad(f, argnums=argnums)(*args)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_solve_inv_det_values(dtype):
    a, b = _matrix(4, dtype=dtype), _matrix(4, 2, dtype=dtype)
    _check_values(lambda a, b: jnp.linalg.solve(a, b), a, b)
    _check_values(lambda a, b: jnp.linalg.solve(a, b[:, 0]), a, b)
    _check_values(jnp.linalg.inv, a)
    _check_values(jnp.linalg.det, a)
    _check_values(jnp.linalg.slogdet, a)


def test_lu_and_triangular_solve_primitives():
    a = _matrix(5, 3)
    _check_values(jax.scipy.linalg.lu, a)  # lu and lu_pivots_to_permutation
    _check_values(lambda a: jax.lax.linalg.lu(a), _matrix(4))
    t = np.tril(_matrix(4)) + 4 * np.eye(4)
    rhs = _matrix(4, 3)
    for lower in (True, False):
        tt = t if lower else t.T
        for left, r in ((True, rhs), (False, rhs.T)):
            for transpose_a in (False, True):
                for unit in (False, True):
                    f = lambda a, r: jax.lax.linalg.triangular_solve(
                        a,
                        r,
                        left_side=left,
                        lower=lower,
                        transpose_a=transpose_a,
                        unit_diagonal=unit,
                    )
                    _check_values(f, tt, r)


def test_factorizations_values_are_the_decompositions():
    """Eigenvectors and singular vectors are unique only up to sign (phase): the tests check
    the decomposition, the orthogonality and the invariant values against jax.jit."""
    a = _matrix(4)
    sym = a + a.T
    w, v = kvant.qjit(jnp.linalg.eigh)(sym)
    np.testing.assert_allclose(w, jnp.linalg.eigh(sym)[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(v @ np.diag(w) @ v.T, sym, atol=1e-12)
    np.testing.assert_allclose(v.T @ v, np.eye(4), atol=1e-12)
    for shape in [(4, 4), (5, 3), (3, 5)]:
        m = _matrix(*shape)
        for full in (False, True):
            u, s, vt = kvant.qjit(lambda x: jnp.linalg.svd(x, full_matrices=full))(m)
            ju, js, jvt = jnp.linalg.svd(m, full_matrices=full)
            assert u.shape == ju.shape and vt.shape == jvt.shape
            np.testing.assert_allclose(s, js, rtol=1e-12)
            k = min(shape)
            np.testing.assert_allclose((u[:, :k] * s) @ vt[:k], m, atol=1e-12)
            np.testing.assert_allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-12)
            np.testing.assert_allclose(vt @ vt.T, np.eye(vt.shape[0]), atol=1e-12)
            q, r = kvant.qjit(lambda x: jnp.linalg.qr(x, mode="complete" if full else "reduced"))(m)
            jq, jr = jnp.linalg.qr(m, mode="complete" if full else "reduced")
            assert q.shape == jq.shape and r.shape == jr.shape
            np.testing.assert_allclose(q @ r, m, atol=1e-12)
            np.testing.assert_allclose(np.abs(r), np.abs(jr), atol=1e-12)  # same up to signs
        np.testing.assert_allclose(
            kvant.qjit(lambda x: jnp.linalg.svd(x, compute_uv=False))(m),
            jnp.linalg.svd(m, compute_uv=False),
            rtol=1e-12,
        )
    _check_values(jnp.linalg.cholesky, _spd(4))
    _check_values(jnp.linalg.pinv, _matrix(5, 3))
    _check_values(jax.scipy.linalg.expm, 0.5 * a)


def test_complex_hermitian_eigh_and_batches():
    h = _matrix(3, dtype=np.complex128)
    h = h + np.conj(h.T)
    w, v = kvant.qjit(jnp.linalg.eigh)(h)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(h), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(v @ np.diag(w) @ np.conj(v.T), h, atol=1e-12)
    batch = _matrix(3, batch=(2, 2))
    _check_values(jnp.linalg.inv, batch)
    _check_values(lambda x: jnp.linalg.eigvalsh(x + jnp.swapaxes(x, -1, -2)), batch)
    _check_values(jax.vmap(jnp.linalg.det), batch[0])


def test_failures_give_nan_like_jax():
    not_pd = -np.eye(3)
    got = np.asarray(kvant.qjit(jnp.linalg.cholesky)(not_pd))
    want = np.asarray(jax.jit(jnp.linalg.cholesky)(not_pd))
    assert np.isnan(want).any()
    np.testing.assert_array_equal(got, want)  # NaN where JAX has NaN, the same zeros


@pytest.mark.parametrize("dtype", [np.float64])
def test_gradients_against_jax_grad(dtype):
    a, b = _matrix(4), _matrix(4)
    sym = a + a.T
    c = jnp.asarray(_matrix(4))
    _check_grad(lambda a, b: jnp.sum(jnp.sin(jnp.linalg.solve(a, b))), a, b, argnums=(0, 1))
    _check_grad(lambda a: jnp.sum(jnp.linalg.inv(a) * c), a)
    _check_grad(jnp.linalg.det, a)
    _check_grad(lambda a: jnp.linalg.slogdet(a)[1], a)
    _check_grad(lambda a: jnp.sum(jnp.linalg.eigvalsh(a) ** 3), sym)
    _check_grad(lambda a: jnp.sum(jnp.abs(jnp.linalg.eigh(a)[1]) * c), sym)
    _check_grad(lambda a: jnp.sum(jnp.linalg.cholesky(a @ a.T + 4 * jnp.eye(4)) * c), a)
    for shape in [(4, 4), (5, 3), (3, 5)]:
        m = _matrix(*shape)
        w = jnp.asarray(_matrix(*shape))
        _check_grad(lambda x: jnp.sum(jnp.linalg.svd(x, compute_uv=False) ** 2), m)
        _check_grad(
            lambda x: (
                jnp.sum(jnp.abs(jnp.linalg.svd(x, full_matrices=False)[0]) @ jnp.ones(min(shape)))
                + jnp.sum(jnp.abs(jnp.linalg.svd(x, full_matrices=False)[2]))
            ),
            m,
        )
        _check_grad(lambda x: jnp.sum(jnp.linalg.pinv(x) * w.T), m)
    for shape in [(4, 4), (5, 3)]:
        m = _matrix(*shape)
        q_w, r_w = jnp.asarray(_matrix(shape[0], shape[1])), jnp.asarray(_matrix(shape[1]))

        def qr_cost(x):
            q, r = jnp.linalg.qr(x)
            # signs fixed by R's diagonal, so the cost is a function of x alone
            sign = jnp.sign(jnp.diagonal(r))
            return jnp.sum((q * sign) * q_w) + jnp.sum((r * sign[:, None]) * r_w)

        _check_grad(qr_cost, m)
    _check_grad(lambda x: jnp.sum(jax.scipy.linalg.expm(x) * c), 0.3 * a, rtol=1e-7)
    t = np.tril(a) + 4 * np.eye(4)
    for lower, tt in ((True, t), (False, t.T)):
        for transpose_a in (False, True):
            _check_grad(
                lambda x, y: jnp.sum(
                    jnp.cos(
                        jax.lax.linalg.triangular_solve(
                            x, y, left_side=True, lower=lower, transpose_a=transpose_a
                        )
                    )
                ),
                tt,
                _matrix(4, 2),
                argnums=(0, 1),
            )


def test_jacobian_and_second_derivatives():
    a = _matrix(3)
    got = kvant.qjit(kvant.jacobian(jnp.linalg.inv))(a)
    np.testing.assert_allclose(got, jax.jacobian(jnp.linalg.inv)(a), rtol=1e-9, atol=1e-10)
    f = lambda x: jnp.linalg.det(x * jnp.eye(3) + a)
    hess = kvant.qjit(kvant.grad(kvant.grad(f)))(0.4)
    np.testing.assert_allclose(hess, jax.grad(jax.grad(f))(0.4), rtol=1e-8)


def test_complex_matrices_of_real_parameters():
    """Real functions of real parameters computed through complex Hermitian matrices (the
    complex cotangent convention of kvant's reverse mode end to end)."""
    h0 = _matrix(3, dtype=np.complex128)
    h0 = h0 + np.conj(h0.T)
    h1 = _matrix(3, dtype=np.complex128)
    h1 = h1 + np.conj(h1.T)

    def lowest(theta):
        return jnp.linalg.eigvalsh(h0 + theta * h1)[0]

    def solved(theta):
        x = jnp.linalg.solve(h0 + theta * h1 + 5j * jnp.eye(3), jnp.ones(3))
        return jnp.sum(jnp.abs(x) ** 2)

    for f in (lowest, solved):
        _check_grad(f, 0.3)


def test_quantum_natural_gradient_step():
    import pennylane as qml

    dev = qml.device("default.qubit", wires=2)

    @qml.qnode(dev)
    def circuit(p):
        qml.RX(p[0], wires=0)
        qml.RY(p[1], wires=1)
        qml.CNOT(wires=[0, 1])
        qml.RZ(p[2], wires=1)
        qml.RX(p[2], wires=0)
        return qml.expval(qml.PauliZ(0) @ qml.PauliX(1))

    def metric(p):
        # a symmetric positive-definite stand-in for the metric tensor, computed from p
        j = jnp.stack([jnp.cos(p), jnp.sin(2 * p), p**2])
        return j.T @ j + 0.1 * jnp.eye(3)

    def step(p):
        g = jax.grad(circuit)(p)
        return p - 0.1 * jnp.linalg.solve(metric(p), g)

    def kvant_step(p):
        g = kvant.grad(circuit)(p)
        return p - 0.1 * jnp.linalg.solve(metric(p), g)

    p = jnp.array([0.3, -0.7, 1.1])
    np.testing.assert_allclose(kvant.qjit(kvant_step)(p), jax.jit(step)(p), rtol=1e-10)
    # and the step differentiated again: d(sum(step))/dp
    got = kvant.qjit(kvant.grad(lambda p: jnp.sum(kvant_step(p))))(p)
    want = jax.grad(lambda p: jnp.sum(step(p)))(p)
    np.testing.assert_allclose(got, want, rtol=1e-8)


def test_newton_step():
    def f(x):
        return jnp.sum(jnp.exp(x) - 2 * x) + 0.5 * jnp.sum(x[:-1] * x[1:])

    def newton(x):
        def body(i, x):
            h = kvant.jacobian(kvant.grad(f))(x)
            return x - jnp.linalg.solve(h, kvant.grad(f)(x))

        return jax.lax.fori_loop(0, 5, body, x)

    def newton_ref(x):
        def body(i, x):
            return x - jnp.linalg.solve(jax.hessian(f)(x), jax.grad(f)(x))

        return jax.lax.fori_loop(0, 5, body, x)

    x0 = jnp.array([0.1, 0.4, -0.2, 0.3])
    got = kvant.qjit(newton)(x0)
    np.testing.assert_allclose(got, jax.jit(newton_ref)(x0), rtol=1e-10)
    np.testing.assert_allclose(jax.grad(f)(got), 0.0, atol=1e-8)


def test_stop_gradient_stops_derivatives():
    f = lambda x: x * jax.lax.stop_gradient(x) + jnp.sin(jax.lax.stop_gradient(x) * x)
    _check_grad(f, 0.7)
    _check_values(f, 0.7)


def test_unsupported_linalg_is_refused_by_name():
    with pytest.raises(kvant.UnsupportedError, match="float64 and complex128"):
        kvant.qjit(jnp.linalg.inv)(np.eye(3, dtype=np.float32))
    with pytest.raises(kvant.UnsupportedError, match="eig"):
        kvant.qjit(jnp.linalg.eig)(np.eye(3))


def test_derivatives_jax_does_not_define_are_refused_by_name():
    m = _matrix(5, 3)
    full_svd = lambda x: jnp.sum(jnp.linalg.svd(x, full_matrices=True)[0])
    with pytest.raises(kvant.UnsupportedError, match="full_matrices=True"):
        kvant.qjit(kvant.grad(full_svd))(m)
    wide_qr = lambda x: jnp.sum(jnp.linalg.qr(x)[1])
    with pytest.raises(kvant.UnsupportedError, match="qr of a wide matrix"):
        kvant.qjit(kvant.grad(wide_qr))(m.T)
    # the same functions compile and run undifferentiated
    _check_values(full_svd, m)


def test_typed_keys_at_the_boundary_are_refused_by_name():
    with pytest.raises(kvant.UnsupportedError, match="typed PRNG key"):
        kvant.qjit(lambda s: jax.random.key(s))(3)
    with pytest.raises(kvant.UnsupportedError, match="argument k is a typed PRNG key"):
        kvant.qjit(lambda k: jax.random.uniform(k))(jax.random.key(3))
    # the key data crosses, and wrap_key_data inside gives the same draws
    f = lambda d: jax.random.uniform(jax.random.wrap_key_data(d), (3,))
    data = jax.random.key_data(jax.random.key(11))
    _assert_bits_equal(kvant.qjit(f)(data), jax.jit(f)(data))


def test_through_pennylane_qjit():
    import pennylane as qml

    dev = qml.device("lightning.qubit", wires=2)

    @qml.qnode(dev)
    def circuit(x):
        qml.RX(x[0], wires=0)
        qml.RY(x[1], wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

    def program(seed):
        x = jax.random.uniform(jax.random.PRNGKey(seed), (2,), minval=0.0, maxval=1.0)
        h = jnp.array([[2.0, x[0]], [x[0], 1.0 + x[1]]])
        w, _ = jnp.linalg.eigh(h)
        return circuit(x) * w[0], qml.grad(lambda y: circuit(y) * jnp.linalg.det(h))(x)

    got = qml.qjit(program, compiler="kvant")(5)

    @qml.qnode(qml.device("default.qubit", wires=2), interface="jax")
    def reference(x):
        qml.RX(x[0], wires=0)
        qml.RY(x[1], wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

    x = jax.random.uniform(jax.random.PRNGKey(5), (2,), minval=0.0, maxval=1.0)
    h = jnp.array([[2.0, x[0]], [x[0], 1.0 + x[1]]])
    want = (
        reference(x) * jnp.linalg.eigh(h)[0][0],
        jax.grad(lambda y: reference(y) * jnp.linalg.det(h))(x),
    )
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
