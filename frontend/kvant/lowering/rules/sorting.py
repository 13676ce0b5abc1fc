"""The rule for ``sort`` (``jnp.sort``, ``jnp.argsort``, ``lax.sort`` with several operands).

A rank sort in two ``linalg.generic`` ops, O(n²) in the length of the sorted axis:

1. rank[i] = #{j : key[j] < key[i], or key[j] == key[i] and j < i} (the position of element i
   in the stable order: every rank is distinct, so the ranks are a permutation);
2. out[k] = operand[i] for the i with rank[i] == k, for every operand.

No loops with data-dependent control flow, every other axis is a parallel loop dimension, and
the result is stable whatever ``is_stable`` says. Fine for the short axes of variational
programs; an O(n log n) merge sort would be worth it for axes of many thousands.

Keys compare as in JAX (``lax._sort_lt_comparator``): lexicographically over the first
``num_keys`` operands; floats in a total order where -0.0 == 0.0 and every NaN is equal to
other NaNs and above +inf; complex numbers by real part, then imaginary part.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith

from kvant.errors import UnsupportedError
from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.registry import register


def _parts(value, dtype):
    """The scalars compared for one key: (re, im) for complex numbers, else the value."""
    if types.is_complex(dtype):
        part = ir.ComplexType(value.type).element_type
        return [b.create("complex.re", part, [value]), b.create("complex.im", part, [value])]
    return [value]


def _less_and_equal(x, y, dtype):
    """(x < y, x == y) as i1 for scalars of one key part."""
    if types.is_float(dtype) or types.is_complex(dtype):
        x_nan = arith.CmpFOp(arith.CmpFPredicate.UNO, x, x).result
        y_nan = arith.CmpFOp(arith.CmpFPredicate.UNO, y, y).result
        x_number = arith.CmpFOp(arith.CmpFPredicate.ORD, x, x).result
        less = arith.OrIOp(
            arith.CmpFOp(arith.CmpFPredicate.OLT, x, y).result, arith.AndIOp(x_number, y_nan).result
        ).result
        equal = arith.OrIOp(
            arith.CmpFOp(arith.CmpFPredicate.OEQ, x, y).result, arith.AndIOp(x_nan, y_nan).result
        ).result
        return less, equal
    unsigned = types.is_unsigned(dtype) or types.is_bool(dtype)
    less = arith.CmpIOp(
        arith.CmpIPredicate.ult if unsigned else arith.CmpIPredicate.slt, x, y
    ).result
    return less, arith.CmpIOp(arith.CmpIPredicate.eq, x, y).result


def _lexicographic(xs, ys, dtypes):
    """(xs < ys, xs == ys) over several keys, the first one most significant."""
    comparisons = []
    for x, y, dtype in zip(xs, ys, dtypes):
        comparisons += [
            _less_and_equal(px, py, dtype) for px, py in zip(_parts(x, dtype), _parts(y, dtype))
        ]
    less, equal = comparisons[-1]
    for l, e in reversed(comparisons[:-1]):
        less = arith.OrIOp(l, arith.AndIOp(e, less).result).result
        equal = arith.AndIOp(e, equal).result
    return less, equal


@register("sort")
def _sort(ctx, *operands, dimension, is_stable, num_keys):
    shape = list(ctx.avals_in[0].shape)
    rank = len(shape)
    n = shape[dimension]
    if n <= 1:
        return list(operands)
    if num_keys < 1:
        raise UnsupportedError("sort needs at least one key")
    key_dtypes = [np.dtype(a.dtype) for a in ctx.avals_in[:num_keys]]
    keys = list(operands[:num_keys])
    # Loop dims 0..rank-1 are the operand's, `dimension` standing for the element i whose rank
    # is computed (pass 1) or the output position k (pass 2); loop dim `rank` is the other one.
    other = rank
    here = b.affine_map(rank + 1, range(rank))
    there = b.affine_map(rank + 1, [other if d == dimension else d for d in range(rank)])
    iterators = ["parallel"] * rank + ["reduction"]
    i64 = ir.IntegerType.get_signless(64)
    rank_type = b.tensor_of(shape, i64)

    def count_before(*args):
        mine, theirs, acc = args[:num_keys], args[num_keys : 2 * num_keys], args[-1]
        less, equal = _lexicographic(theirs, mine, key_dtypes)
        earlier = arith.CmpIOp(
            arith.CmpIPredicate.ult, b.loop_index(other), b.loop_index(dimension)
        ).result
        before = arith.OrIOp(less, arith.AndIOp(equal, earlier).result).result
        return arith.AddIOp(acc, arith.ExtUIOp(i64, before).result).result

    ranks = b.generic(
        rank_type,
        keys + keys,
        b.filled(shape, i64, 0),
        [here] * num_keys + [there] * num_keys + [here],
        iterators,
        count_before,
    )

    return _permute(ranks, list(operands), dimension, [types.tensor_type(a) for a in ctx.avals_out])


def _permute(ranks, operands, dimension, out_types):
    """out[..., k, ...] = operand[..., i, ...] for the i with ranks[..., i, ...] == k, for every
    operand; the outputs may be shorter than the operands along ``dimension`` (top_k)."""
    rank = len(out_types[0].shape)
    other = rank
    here = b.affine_map(rank + 1, range(rank))
    there = b.affine_map(rank + 1, [other if d == dimension else d for d in range(rank)])
    i64 = ir.IntegerType.get_signless(64)
    # Real floats are picked as a sum over i of (hit ? operand[i] : -0.0), starting from -0.0:
    # adding -0.0 changes no value (not even the sign of a zero), and a sum is a reduction the
    # reverse-mode rules differentiate (the cotangent goes back to the element picked).
    summed = [
        isinstance(t.element_type, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type))
        for t in out_types
    ]
    inits = [
        b.filled(t.shape, t.element_type, -0.0) if sums else b.empty(t.shape, t.element_type)
        for t, sums in zip(out_types, summed)
    ]

    def pick(r, *args):
        values, current = args[: len(operands)], args[len(operands) :]
        k = arith.IndexCastOp(i64, b.loop_index(dimension)).result
        hit = arith.CmpIOp(arith.CmpIPredicate.eq, r, k).result
        picked = []
        for v, c, sums in zip(values, current, summed):
            if sums:
                picked.append(
                    arith.AddFOp(
                        c, arith.SelectOp(hit, v, b.scalar_constant(v.type, -0.0)).result
                    ).result
                )
            else:
                picked.append(arith.SelectOp(hit, v, c).result)
        return picked

    return b.generic_multi(
        out_types,
        [ranks] + operands,
        inits,
        [there] * (1 + len(operands)) + [here] * len(operands),
        ["parallel"] * rank + ["reduction"],
        pick,
    )


@register("top_k")
def _top_k(ctx, x, *, k, axis=-1):
    """The k largest elements along the last axis, largest first, and their int32 indices;
    equal elements keep their order. Elements compare in XLA's total order (NaN above +inf,
    +0.0 above -0.0), the order of XLA's TopK."""
    from kvant.lowering.rules.elementwise import total_order_key

    dtype = np.dtype(ctx.avals_in[0].dtype)
    if types.is_complex(dtype):
        raise UnsupportedError("top_k on complex arrays is not supported")
    shape = list(ctx.avals_in[0].shape)
    rank = len(shape)
    dimension = axis % rank
    other = rank
    here = b.affine_map(rank + 1, range(rank))
    there = b.affine_map(rank + 1, [other if d == dimension else d for d in range(rank)])
    i64 = ir.IntegerType.get_signless(64)
    unsigned = types.is_unsigned(dtype) or types.is_bool(dtype)

    def count_before(mine, theirs, acc):
        a, c = total_order_key(theirs, dtype), total_order_key(mine, dtype)
        greater = arith.CmpIOp(
            arith.CmpIPredicate.ugt if unsigned else arith.CmpIPredicate.sgt, a, c
        ).result
        equal = arith.CmpIOp(arith.CmpIPredicate.eq, a, c).result
        earlier = arith.CmpIOp(
            arith.CmpIPredicate.ult, b.loop_index(other), b.loop_index(dimension)
        ).result
        before = arith.OrIOp(greater, arith.AndIOp(equal, earlier).result).result
        return arith.AddIOp(acc, arith.ExtUIOp(i64, before).result).result

    ranks = b.generic(
        b.tensor_of(shape, i64),
        [x, x],
        b.filled(shape, i64, 0),
        [here, there, here],
        ["parallel"] * rank + ["reduction"],
        count_before,
    )
    iota_shape = [1] * rank
    iota_shape[dimension] = shape[dimension]
    positions = np.broadcast_to(
        np.arange(shape[dimension], dtype=np.int32).reshape(iota_shape), shape
    )
    from kvant.lowering.core import constant

    return _permute(
        ranks, [x, constant(positions)], dimension, [types.tensor_type(a) for a in ctx.avals_out]
    )
