"""Rules for JAX's PRNG primitives (``jax.random`` with the default threefry2x32 keys).

A key array ``key<fry>[*s]`` is held as its key data, a ``uint32`` tensor of shape ``(*s, 2)``
(``types.physical_aval``). Each primitive is expanded into ``lax`` operations on that data, which
the other rules lower; the expansions below are written from the Threefry-2x32 definition
(Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011: 20 rounds, rotation
constants (13, 15, 26, 6) and (17, 29, 16, 24), key schedule parity 0x1BD11BDA, a key injection
after every four rounds) and the way JAX derives keys and bits from it, so compiled code draws
the same bits as ``jax.jit`` for the same key:

- seed: the 64-bit seed's high and low 32-bit words;
- fold_in(key, d): the hash of the counter pair (0, d);
- split / random_bits: the hash of counters 0, 1, 2, ... — with ``jax_threefry_partitionable``
  (JAX's default) the counter of element i is the 64-bit i in two words hashed as one block;
  without it the counters are 32-bit and hashed in two halves of the counter array.

Only the threefry2x32 implementation is compiled; a key of another implementation (``rbg``,
``unsafe_rbg``) is refused by name.
"""

from __future__ import annotations

import math

import jax
import numpy as np
from jax import lax

from kvant.errors import UnsupportedError
from kvant.lowering import types
from kvant.lowering.registry import register

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)
_U32 = np.dtype(np.uint32)


def _u32(value):
    return np.uint32(value)


def _rotate_left(x, r: int):
    return lax.shift_left(x, _u32(r)) | lax.shift_right_logical(x, _u32(32 - r))


def threefry2x32(k0, k1, x0, x1):
    """The Threefry-2x32 block cipher of the blocks (x0, x1) under the key (k0, k1); uint32
    arrays of one shape (keys may be scalars)."""
    ks = (k0, k1, k0 ^ k1 ^ _PARITY)
    x0 = x0 + ks[0]
    x1 = x1 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = _rotate_left(x1, r) ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + _u32(i + 1)
    return x0, x1


def _hash_counters(key, counts):
    """The hash of a flat uint32 counter array: its first half and second half (zero-padded to
    an even length) are the two words of the blocks; the result has the counters' length."""
    n = counts.shape[0]
    if n % 2:
        counts = lax.concatenate([counts, np.zeros(1, _U32)], 0)
    half = counts.shape[0] // 2
    y0, y1 = threefry2x32(key[0], key[1], counts[:half], counts[half:])
    return lax.concatenate([y0, y1], 0)[:n]


def _counters_2x32(shape):
    """The 64-bit row-major index of every element of ``shape`` as two uint32 arrays (high and
    low word)."""
    size = math.prod(shape)
    if size >= 2**32:
        raise UnsupportedError(f"kvant cannot draw {size} random values at once (2**32 or more)")
    low = lax.reshape(lax.iota(_U32, size), tuple(shape)) if size else np.zeros(shape, _U32)
    return np.zeros(shape, _U32), low


def seed(value):
    """The key of an integer seed: (high word, low word) of its 64 bits (high is 0 for a seed
    of 32 bits or fewer)."""
    dtype = np.dtype(value.dtype)
    if dtype.itemsize == 8:
        high = lax.convert_element_type(lax.shift_right_logical(value, np.array(32, dtype)), _U32)
    else:
        high = np.uint32(0)
    low = lax.convert_element_type(value, _U32)
    return lax.concatenate([lax.broadcast(high, (1,)), lax.broadcast(low, (1,))], 0)


def fold_in(key, data):
    return _hash_counters(key, seed(lax.convert_element_type(data, _U32)))


def split(key, shape):
    if jax.config.jax_threefry_partitionable:
        high, low = _counters_2x32(shape)
        y0, y1 = threefry2x32(key[0], key[1], high, low)
        return lax.concatenate(
            [lax.expand_dims(y0, (len(shape),)), lax.expand_dims(y1, (len(shape),))], len(shape)
        )
    num = math.prod(shape)
    return lax.reshape(_hash_counters(key, lax.iota(_U32, num * 2)), (*shape, 2))


def random_bits(key, bit_width: int, shape):
    out_dtype = np.dtype(f"uint{bit_width}")
    if jax.config.jax_threefry_partitionable:
        high, low = _counters_2x32(shape)
        y0, y1 = threefry2x32(key[0], key[1], high, low)
        if bit_width == 64:
            wide = [lax.convert_element_type(y, out_dtype) for y in (y0, y1)]
            return lax.shift_left(wide[0], np.array(32, out_dtype)) | wide[1]
        return lax.convert_element_type(y0 ^ y1, out_dtype)
    size = math.prod(shape)
    words = -(-bit_width * size // 32)
    if words >= 2**32 - 1:
        raise UnsupportedError(f"kvant cannot draw {size} random values at once")
    bits = _hash_counters(key, lax.iota(_U32, words)) if words else np.zeros(0, _U32)
    if bit_width == 64:
        half = words // 2
        wide = [lax.convert_element_type(w, out_dtype) for w in (bits[:half], bits[half:])]
        bits = lax.shift_left(wide[0], np.array(32, out_dtype)) | wide[1]
    elif bit_width in (8, 16):
        # each 32-bit word gives 32 / bit_width values, its low bits first
        per_word = 32 // bit_width
        shifts = np.arange(per_word, dtype=_U32) * _u32(bit_width)
        parts = lax.shift_right_logical(bits[:, None], lax.broadcast(shifts, (words,)))
        parts = parts & _u32(2**bit_width - 1)
        bits = lax.convert_element_type(lax.reshape(parts, (words * per_word,)), out_dtype)
        bits = bits[:size]
    return lax.reshape(bits, tuple(shape))


# -- the primitives ------------------------------------------------------------------------------


def _check_impl(impl, where=""):
    if getattr(impl, "name", None) != "threefry2x32":
        raise UnsupportedError(
            f"kvant compiles threefry2x32 PRNG keys only, not '{getattr(impl, 'name', impl)}'"
            f"{where}"
        )


def _key_impl(aval):
    impl = aval.dtype._impl
    _check_impl(impl)
    return impl


def _expand(ctx, fn, operands, in_avals):
    """Lowers ``fn`` (lax code on key data) applied to ``operands`` inline."""
    return ctx.inline(fn, operands, in_avals)


def _over_keys(fn, key_ndim):
    """``fn`` of one key's data mapped over ``key_ndim`` leading dimensions."""
    for _ in range(key_ndim):
        fn = jax.vmap(fn)
    return fn


@register("random_seed")
def _random_seed(ctx, seeds, *, impl):
    _check_impl(impl)
    (aval,) = ctx.avals_in
    return _expand(ctx, _over_keys(seed, aval.ndim), [seeds], [aval])


@register("random_wrap")
def _random_wrap(ctx, data, *, impl):
    _check_impl(impl)
    return data


@register("random_unwrap", "random_clone")
def _random_unwrap(ctx, keys):
    _key_impl(ctx.avals_in[0])
    return keys


@register("random_split")
def _random_split(ctx, keys, *, shape):
    (aval,) = ctx.avals_in
    _key_impl(aval)
    fn = _over_keys(lambda k: split(k, tuple(shape)), aval.ndim)
    return _expand(ctx, fn, [keys], [types.physical_aval(aval)])


@register("random_bits")
def _random_bits(ctx, keys, *, bit_width, shape):
    (aval,) = ctx.avals_in
    _key_impl(aval)
    fn = _over_keys(lambda k: random_bits(k, bit_width, tuple(shape)), aval.ndim)
    return _expand(ctx, fn, [keys], [types.physical_aval(aval)])


@register("random_fold_in")
def _random_fold_in(ctx, keys, msgs):
    keys_aval, msgs_aval = ctx.avals_in
    _key_impl(keys_aval)
    out_shape = ctx.avals_out[0].shape

    def fn(k, m):
        k = jax.numpy.broadcast_to(k, (*out_shape, 2)).reshape(-1, 2)
        m = jax.numpy.broadcast_to(m, out_shape).reshape(-1)
        return jax.vmap(fold_in)(k, m).reshape(*out_shape, 2)

    return _expand(ctx, fn, [keys, msgs], [types.physical_aval(keys_aval), msgs_aval])


@register("threefry2x32")
def _threefry2x32(ctx, k0, k1, x0, x1):
    shape = ctx.avals_out[0].shape

    def fn(a, b, c, d):
        a, b, c, d = (jax.numpy.broadcast_to(v, shape) for v in (a, b, c, d))
        return threefry2x32(a, b, c, d)

    return _expand(ctx, fn, [k0, k1, x0, x1], ctx.avals_in)
