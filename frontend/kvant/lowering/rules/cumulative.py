"""Rules for the cumulative reductions ``cumsum``, ``cumprod``, ``cummax``, ``cummin`` and
``cumlogsumexp`` (``jnp.cumsum`` and friends, ``lax.cum*``).

A scan has no ``linalg`` form, so each is an ``scf.for`` along the axis that carries the result
tensor: step k combines slice k-1 of the result with slice k of the input (still in place, as
slices ≥ k are not yet written) and inserts it. Bufferization keeps the carried tensor in place.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, scf, tensor

from kvant.errors import UnsupportedError
from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.registry import register


def _logaddexp(a, c):
    """log(exp(a) + exp(c)) without overflow: max + log1p(exp(-|a - c|)); when a - c is NaN
    (equal infinities, or a NaN operand) the max alone is the answer."""
    elt = a.type
    big = arith.MaximumFOp(a, c).result
    diff = arith.SubFOp(a, c).result
    neg_abs = arith.NegFOp(b.create("math.absf", elt, [diff])).result
    total = arith.AddFOp(
        big, b.create("math.log1p", elt, [b.create("math.exp", elt, [neg_abs])])
    ).result
    is_nan = arith.CmpFOp(arith.CmpFPredicate.UNO, diff, diff).result
    return arith.SelectOp(is_nan, big, total).result


#: prim -> (float op, signed int op, unsigned/bool op, complex op); None = not supported
_OPS = {
    "cumsum": ("arith.addf", "arith.addi", "arith.addi", "complex.add"),
    "cumprod": ("arith.mulf", "arith.muli", "arith.muli", "complex.mul"),
    "cummax": ("arith.maximumf", "arith.maxsi", "arith.maxui", None),
    "cummin": ("arith.minimumf", "arith.minsi", "arith.minui", None),
}


def _combiner(prim, dtype):
    """The scalar combining function of ``prim`` for elements of ``dtype``."""
    if prim == "cumlogsumexp":
        if not types.is_float(dtype):
            raise UnsupportedError(f"'cumlogsumexp' on {np.dtype(dtype)} arrays is not supported")
        return _logaddexp
    float_op, int_op, uint_op, complex_op = _OPS[prim]
    if types.is_complex(dtype):
        name = complex_op
    elif types.is_float(dtype):
        name = float_op
    else:
        name = uint_op if types.is_unsigned(dtype) or types.is_bool(dtype) else int_op
    if name is None:
        raise UnsupportedError(f"'{prim}' on {np.dtype(dtype)} arrays is not supported")
    return lambda a, c: b.create(name, a.type, [a, c])


def _slice_at(source, position, axis, shape, slice_type):
    """``source[..., position, ...]`` along ``axis`` (``position`` an index value), rank-reduced."""
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    offsets = [dynamic if d == axis else 0 for d in range(len(shape))]
    sizes = [1 if d == axis else n for d, n in enumerate(shape)]
    return tensor.ExtractSliceOp(
        slice_type, source, [position], [], [], offsets, sizes, [1] * len(shape)
    ).result


def _insert_at(value, dest, position, axis, shape):
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    offsets = [dynamic if d == axis else 0 for d in range(len(shape))]
    sizes = [1 if d == axis else n for d, n in enumerate(shape)]
    return tensor.InsertSliceOp(
        value, dest, [position], [], [], offsets, sizes, [1] * len(shape)
    ).result


def _cumulative(prim):
    @register(prim)
    def rule(ctx, x, *, axis, reverse):
        aval = ctx.avals_in[0]
        shape = tuple(aval.shape)
        n = shape[axis]
        combine = _combiner(prim, aval.dtype)
        if n <= 1:
            return x
        elt = b.ranked(x).element_type
        slice_shape = [s for d, s in enumerate(shape) if d != axis]
        slice_type = b.tensor_of(slice_shape, elt)
        loop = scf.ForOp(b.index_constant(1), b.index_constant(n), b.index_constant(1), [x])
        with ir.InsertionPoint(loop.body):
            k = loop.induction_variable
            (out,) = loop.inner_iter_args
            if reverse:  # positions n-1-k, after n-k
                last = b.index_constant(n - 1)
                position = arith.SubIOp(last, k).result
                previous = arith.AddIOp(position, b.index_constant(1)).result
            else:
                position = k
                previous = arith.SubIOp(k, b.index_constant(1)).result
            before = _slice_at(out, previous, axis, shape, slice_type)
            current = _slice_at(out, position, axis, shape, slice_type)
            combined = b.elementwise(slice_type, [before, current], combine)
            scf.YieldOp([_insert_at(combined, out, position, axis, shape)])
        return loop.results[0]

    return rule


for _prim in ("cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"):
    _cumulative(_prim)
