"""Elementwise primitives (math, arithmetic, comparisons, selection, conversions, complex
numbers) compiled by kvant against JAX, across dtypes and with special values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_classical_lowering import assert_matches_jax

import kvant
from kvant.errors import UnsupportedError

lax = jax.lax
rng = np.random.default_rng(7)

#: tolerances per float dtype: XLA's and libm's float32 functions differ in the last bits
TOL = {np.float32: dict(rtol=2e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}

X = np.array([-2.5, -1.0, -0.3, 0.0, 0.4, 1.0, 2.2, 7.5])
UNIT = np.array([-0.95, -0.5, -0.1, 0.0, 0.2, 0.6, 0.99])  # inside (-1, 1)
SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5, -1.5])

FLOAT_UNARY = {
    "trig": (lambda x: (jnp.sin(x), jnp.cos(x), jnp.tan(x), jnp.arctan(x)), X),
    "inverse trig": (lambda u: (jnp.arcsin(u), jnp.arccos(u), jnp.arctanh(u)), UNIT),
    "hyperbolic": (
        lambda x: (
            jnp.sinh(x),
            jnp.cosh(x),
            jnp.tanh(x),
            jnp.arcsinh(x),
            jnp.arccosh(jnp.abs(x) + 1),
        ),
        X,
    ),
    "exp and log": (
        lambda x: (
            jnp.exp(x),
            jnp.exp2(x),
            jnp.expm1(x),
            jnp.log(jnp.abs(x) + 0.1),
            jnp.log1p(jnp.abs(x)),
            jnp.log2(jnp.abs(x) + 1),
            jnp.log10(jnp.abs(x) + 1),
        ),
        X,
    ),
    "roots": (lambda x: (jnp.sqrt(jnp.abs(x)), lax.rsqrt(jnp.abs(x) + 0.5), jnp.cbrt(x)), X),
    "logistic and erf": (
        lambda x: (
            jax.nn.sigmoid(x),
            lax.logistic(-x),
            jax.scipy.special.erf(x),
            jax.scipy.special.erfc(x),
        ),
        X,
    ),
    "erf_inv": (lambda u: jax.scipy.special.erfinv(u), UNIT),
    "rounding": (
        lambda x: (jnp.floor(x), jnp.ceil(x), jnp.round(x), lax.round(x), jnp.trunc(x)),
        np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -3.7, 2.51]),
    ),
    "abs sign neg": (lambda x: (jnp.abs(x), jnp.sign(x), -x, jnp.square(x)), X),
    "integer powers": (
        lambda x: (x**0, x**1, x**2, x**3, x**7, x**-1, x**-3, lax.integer_pow(x, 12)),
        X + 0.1,
    ),
    "special values": (
        lambda x: (
            jnp.isfinite(x),
            jnp.isnan(x),
            jnp.isinf(x),
            jnp.sign(x),
            jnp.abs(x),
            jnp.exp(x),
            jnp.floor(x),
            jax.nn.sigmoid(x),
        ),
        SPECIAL,
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(FLOAT_UNARY))
def test_float_unary(name, dtype):
    fn, x = FLOAT_UNARY[name]
    assert_matches_jax(fn, (x.astype(dtype),), **TOL[dtype])


def test_erf_inv_float64_to_the_tails():
    """Giles' polynomial is float32-accurate; float64 refines it, also as |x| → 1."""
    x = np.array(
        [
            -1.0,
            -1 + 1e-16,
            -0.999999,
            -0.3,
            0.0,
            1e-300,
            1e-5,
            0.5,
            0.9999999999,
            1 - 1e-15,
            1.0,
            1.5,
        ]
    )
    assert_matches_jax(jax.scipy.special.erfinv, (x,), rtol=1e-9)


FLOAT_BINARY = {
    "arithmetic": lambda x, y: (x + y, x - y, x * y, x / y, lax.rem(x, y), jnp.fmod(x, y), x % y),
    "max and min (NaN propagates)": lambda x, y: (
        jnp.maximum(x, y),
        jnp.minimum(x, y),
        jnp.maximum(x, jnp.nan),
        jnp.minimum(jnp.nan, y),
    ),
    "powers": lambda x, y: (
        jnp.abs(x) ** y,
        x**2.0,
        lax.pow(x, np.int32(3)),
        lax.pow(x, np.int64(-2)),
    ),
    "atan2 and hypot": lambda x, y: (jnp.arctan2(x, y), jnp.hypot(x, y)),
    "clamp and clip": lambda x, y: (
        lax.clamp(jnp.array(-1.0, x.dtype), x, jnp.array(1.0, x.dtype)),
        jnp.clip(x, y, 2.0),
        lax.clamp(y - 1, x, y + 1),
    ),
    "comparisons": lambda x, y: (x == y, x != y, x < y, x <= y, x > y, x >= y, x > 0.0),
    "where and select_n": lambda x, y: (
        jnp.where(x > y, x, y),
        lax.select_n(x > 0, x, y),
        lax.select_n(jnp.sign(x).astype(jnp.int32) + 1, x, y, x * y),
        jnp.where(True, x, 0.0),
    ),
}
XB = np.array([-2.5, -1.0, -0.3, 0.0, 0.4, 1.0, 2.2, np.nan])
YB = np.array([1.5, -1.0, 2.0, 3.0, -0.4, 1.0, -0.7, 0.5])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(FLOAT_BINARY))
def test_float_binary(name, dtype):
    assert_matches_jax(FLOAT_BINARY[name], (XB.astype(dtype), YB.astype(dtype)), **TOL[dtype])


INT_PROGRAMS = {
    "arithmetic": lambda a, b: (
        a + b,
        a - b,
        a * b,
        -a,
        jnp.abs(a),
        jnp.sign(a),
        a**2,
        lax.integer_pow(a, 5),
    ),
    # XLA never traps: x/0 = -1, x%0 = x, INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0
    "division": lambda a, b: (
        lax.div(a, b),
        lax.rem(a, b),
        a // jnp.where(b == 0, 1, b),
        a % jnp.where(b == 0, 1, b),
    ),
    "max min clamp": lambda a, b: (jnp.maximum(a, b), jnp.minimum(a, b), jnp.clip(a, -3, 3)),
    "bitwise": lambda a, b: (a & b, a | b, a ^ b, ~a),
    "shifts": lambda a, b: (
        a << (b & 7),
        a >> (b & 7),
        lax.shift_right_logical(a, b & 7),
        a << 40 % 64,
        lax.shift_left(a, b),
        lax.shift_right_arithmetic(a, b),
    ),
    "comparisons and select": lambda a, b: (
        a == b,
        a != b,
        a < b,
        a <= b,
        a > b,
        a >= b,
        lax.select_n(jnp.clip(a, 0, 2), a, b, a * b),
    ),
}


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8, np.uint8, np.uint32])
@pytest.mark.parametrize("name", list(INT_PROGRAMS))
def test_integers(name, dtype):
    info = np.iinfo(dtype)
    a = np.array([7, -7, 0, info.min, 9, -9, 100, 3, info.max, 1]).astype(dtype)
    b = np.array([0, 0, 0, -1, 2, 2, -3, 3, 7, 33]).astype(dtype)
    fn = INT_PROGRAMS[name]
    if np.issubdtype(dtype, np.unsignedinteger) and name in ("arithmetic",):
        fn = lambda a, b: (a + b, a - b, a * b, a**2, jnp.sign(a))
    assert_matches_jax(fn, (a, b))


def test_bit_level_operations():
    s = np.array([3.0, np.nan, -0.0, 0.0, 1.0, -np.inf, 1.0, np.inf, -1.0])
    n = np.array([0, 1, 7, -1, 255, 1024], dtype=np.int32)
    fn = lambda s, n: (
        jnp.signbit(s),
        jnp.copysign(s, -1.0),
        lax.bitcast_convert_type(s, jnp.int64),
        lax.bitcast_convert_type(n, jnp.float32),
        jnp.ldexp(s, 3),
        jnp.frexp(s),
        jnp.bitwise_count(n),
        lax.clz(n),
        lax.population_count(n.astype(jnp.uint8)),
        # comparisons in XLA's total order: -0.0 < 0.0, NaN above +inf
        lax.lt_to_p.bind(s, s[::-1]),
        lax.le_to_p.bind(s, s[::-1]),
        lax.eq_to_p.bind(s, s[::-1]),
    )
    assert_matches_jax(fn, (s, n))


def test_booleans():
    p = np.array([True, False, True, False])
    q = np.array([True, True, False, False])
    fn = lambda p, q: (
        p & q,
        p | q,
        p ^ q,
        ~p,
        jnp.logical_not(q),
        p == q,
        p != q,
        p < q,
        p >= q,
        lax.select_n(p, q, ~q),
        jnp.where(p, 1.5, -1.5),
        jnp.maximum(p, q),
        jnp.minimum(p, q),
    )
    assert_matches_jax(fn, (p, q))


DTYPES = [
    np.float64,
    np.float32,
    np.int64,
    np.int32,
    np.int8,
    np.uint8,
    np.bool_,
    np.complex128,
    np.complex64,
]
VALUES = np.array([0.0, -0.0, 1.0, -1.0, 2.7, -3.7, 300.0, 1e20, -1e20, np.inf, -np.inf, np.nan])


@pytest.mark.filterwarnings("ignore:Casting complex values to real")
@pytest.mark.parametrize("src", DTYPES, ids=lambda d: np.dtype(d).name)
def test_convert_element_type(src):
    """Every source dtype to every destination: float → int saturates (NaN → 0) like XLA,
    complex → real keeps the real part."""
    with np.errstate(all="ignore"):
        if np.issubdtype(src, np.complexfloating):
            x = (VALUES + 1j * VALUES[::-1]).astype(src)
        elif np.issubdtype(src, np.floating):
            x = VALUES.astype(src)
        else:
            x = np.array([0, 1, -1, 5, -128, 127, 100, -7]).astype(src)

    def fn(x):
        return tuple(lax.convert_element_type(x, dst) for dst in DTYPES)

    assert_matches_jax(fn, (x,))


Z = np.array([1 + 2j, -0.5 + 0.1j, 0j, 3 - 4j, -2 - 1j, 0.25j])

COMPLEX = {
    "parts": lambda z, x: (
        jnp.real(z),
        jnp.imag(z),
        jnp.conj(z),
        lax.complex(x, x * 2),
        lax.conj(x),
        jnp.angle(z),
    ),
    "arithmetic": lambda z, x: (
        z + z,
        z - 1j,
        z * z,
        z / (z + 1),
        -z,
        z * x,
        z**3,
        z**-2,
        z**2.5,
        z**z,
        jnp.square(z),
    ),
    "functions": lambda z, x: (
        jnp.abs(z),
        jnp.exp(z),
        jnp.log(z + 1),
        jnp.log1p(z),
        jnp.expm1(z),
        jnp.sqrt(z),
        lax.rsqrt(z + 1),
        jnp.sin(z),
        jnp.cos(z),
        jnp.tan(z),
        jnp.tanh(z),
        jnp.sign(z),
    ),
    "comparisons and select": lambda z, x: (
        z == z,
        z != 1j,
        jnp.where(x > 0, z, 2j),
        lax.select_n(x > 0, z, -z),
    ),
    "reductions and matmul": lambda z, x: (
        jnp.sum(z),
        jnp.prod(z[:3]),
        jnp.vdot(z, z),
        jnp.outer(z, z) @ z,
        jnp.cumsum(z),
        jnp.cumprod(z[:4]),
    ),
}


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("name", list(COMPLEX))
def test_complex(name, dtype):
    real = np.float64 if dtype == np.complex128 else np.float32
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.complex128 else dict(rtol=2e-5, atol=2e-6)
    assert_matches_jax(COMPLEX[name], (Z.astype(dtype), np.real(Z).astype(real)), **tol)


def test_unsupported_elementwise_cases_are_reported():
    with pytest.raises(UnsupportedError, match="'max' on complex128"):
        kvant.qjit(lambda z: lax.max(z, z))(Z)
    with pytest.raises(UnsupportedError, match="'asinh' on complex128"):
        kvant.qjit(lambda z: jnp.arcsinh(z))(Z)


@pytest.mark.parametrize(
    "x, dtype",
    [
        (np.array([1, -2, 2**40 + 7, -(2**62)], np.int64), np.uint8),  # Shor's demo: int64 bytes
        (np.array([1.5, -3.25, np.inf]), np.int32),
        (np.array([1.5, -3.25], np.float32), np.uint16),
        (np.arange(16, dtype=np.uint8).reshape(2, 8) * 17, np.int64),
        (np.arange(8, dtype=np.uint8).reshape(2, 4) + 60, np.float32),
        (np.arange(12, dtype=np.int16).reshape(3, 4) - 5, np.float64),
        (np.array(-7, np.int32), np.int8),
    ],
)
def test_bitcast_between_widths(x, dtype):
    """A wide element becomes a last axis of narrow ones and back, in JAX's byte order; the
    bits must be equal (values compared as bytes: some patterns are NaNs)."""
    fn = lambda v: lax.bitcast_convert_type(v, dtype)
    got, want = np.asarray(kvant.qjit(fn)(x)), np.asarray(jax.jit(fn)(x))
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
