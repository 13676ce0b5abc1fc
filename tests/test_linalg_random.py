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
