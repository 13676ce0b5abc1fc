"""Derivatives through complex intermediate values. The reverse sweep has rules for real values
only, so method="auto" refuses a complex value between a differentiated argument and a
differentiated result by name (it gave a silent zero); method="fd" differentiates such programs,
and complex values off the derivative's path are no obstacle. Against jax.grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kvant

jax.config.update("jax_enable_x64", True)

THROUGH_COMPLEX = {
    "mul": lambda k: jnp.real((1j * k + k**2) * (2 + 3j)),
    "abs": lambda k: jnp.abs(k + 2j * k),
    "exp": lambda k: jnp.real(jnp.exp(1j * k)),
    "imag": lambda k: jnp.imag(jnp.exp(1j * k) * k),
    "conj": lambda k: jnp.real(jnp.conj(k * (1 + 2j)) * (k * (1 + 2j))),
    "lax.complex": lambda k: jnp.abs(jax.lax.complex(k, k**2)) ** 2,
    "div": lambda k: jnp.real((1 + 2j) / (k + 1j)),
    "array": lambda k: jnp.sum(jnp.abs(jnp.array([k, 2 * k]) * jnp.array([1j, 2.0])) ** 2),
}


@pytest.mark.parametrize("name", THROUGH_COMPLEX)
def test_auto_refuses_complex_values_on_the_derivative_path(name):
    f = THROUGH_COMPLEX[name]
    assert abs(float(jax.grad(f)(0.7))) > 1e-3  # a non-zero derivative that was lost
    with pytest.raises(kvant.CompileError, match="cannot differentiate through complex numbers"):
        kvant.qjit(kvant.grad(f))(0.7)


@pytest.mark.parametrize("name", THROUGH_COMPLEX)
def test_fd_differentiates_through_complex_values(name):
    f = THROUGH_COMPLEX[name]
    np.testing.assert_allclose(kvant.qjit(kvant.grad(f, method="fd"))(0.7), jax.grad(f)(0.7),
                               rtol=1e-5, atol=1e-6)


def test_complex_values_off_the_derivative_path_are_no_obstacle():
    def f(x, y):
        phase = jnp.abs(jnp.exp(1j * y)) * jnp.real(jnp.exp(2j * y))  # depends on y only
        return x**2 * phase

    for argnums in (0,):
        np.testing.assert_allclose(kvant.qjit(kvant.grad(f, argnums=argnums))(0.7, 0.3),
                                   jax.grad(f, argnums=argnums)(0.7, 0.3), atol=1e-12)

    def g(x):
        aux = jnp.abs(jnp.exp(1j * x))  # computed, but not part of the differentiated result
        return x**2, aux

    np.testing.assert_allclose(kvant.qjit(kvant.grad(g, has_aux=True))(0.7)[0], 1.4, atol=1e-12)
