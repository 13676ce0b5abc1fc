"""JAX abstract values → MLIR types. Every JAX array (scalars included) is a ranked tensor."""

from __future__ import annotations

import numpy as np
from mlir import ir

from kvant.errors import UnsupportedError


def element_type(dtype) -> ir.Type:
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return ir.F64Type.get()
    if dtype == np.float32:
        return ir.F32Type.get()
    if dtype == np.float16:
        return ir.F16Type.get()
    if dtype == np.bool_:
        # Booleans live as i8 (0/1), never i1: MLIR 22.1.8 asserts on loads and stores of i1
        # memrefs (docs/toolchain.md), and every tensor becomes a memref after bufferization.
        return ir.IntegerType.get_signless(8)
    if dtype.kind in "iu":
        return ir.IntegerType.get_signless(8 * dtype.itemsize)
    if dtype == np.complex128:
        return ir.ComplexType.get(ir.F64Type.get())
    if dtype == np.complex64:
        return ir.ComplexType.get(ir.F32Type.get())
    raise UnsupportedError(f"kvant does not support arrays of dtype {dtype}")


def is_key(dtype) -> bool:
    """A JAX PRNG key dtype (``key<fry>``): extended, held as its key data."""
    import jax

    return jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def physical_aval(aval):
    """The aval a value is held as: a key array ``key<impl>[*s]`` as its key data,
    ``uint32[*s, *key_shape]``; any other aval as itself."""
    if not is_key(aval.dtype):
        return aval
    from jax._src import core as jax_core

    return jax_core.physical_aval(aval)


def tensor_type(aval) -> ir.RankedTensorType:
    aval = physical_aval(aval)
    return ir.RankedTensorType.get(list(aval.shape), element_type(aval.dtype))


def is_float(dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.floating)


def is_complex(dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.complexfloating)


def is_unsigned(dtype) -> bool:
    return np.dtype(dtype).kind == "u"


def is_bool(dtype) -> bool:
    return np.dtype(dtype) == np.bool_
