"""Rules for primitives that move, reshape, select or reduce elements."""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, tensor

from kvant.errors import UnsupportedError
from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.registry import register


@register("reshape")
def _reshape(ctx, x, *dyn, new_sizes, dimensions, sharding=None):
    if dimensions is not None or dyn:
        raise UnsupportedError("reshape with dimensions or dynamic sizes is not supported")
    return b.reshape(x, new_sizes)


@register("squeeze")
def _squeeze(ctx, x, *, dimensions):
    return b.reshape(x, ctx.avals_out[0].shape)


@register("expand_dims")
def _expand_dims(ctx, x, *, dimensions):
    return b.reshape(x, ctx.avals_out[0].shape)


@register("copy", "copy_p", "device_put", "optimization_barrier")
def _identity(ctx, *xs, **params):
    return list(xs) if len(xs) != 1 or ctx.eqn.primitive.multiple_results else xs[0]


@register("broadcast_in_dim")
def _broadcast_in_dim(ctx, x, *dyn, shape, broadcast_dimensions, sharding=None):
    if dyn:
        raise UnsupportedError("broadcast_in_dim with dynamic shapes is not supported")
    in_shape = ctx.avals_in[0].shape
    shape = tuple(shape)
    if in_shape == shape:
        return x
    # Operand dims of size 1 that stretch are dropped first; the remaining dims map one to one
    # onto target dims, and linalg.broadcast adds the others.
    kept = [
        i for i, d in enumerate(in_shape) if not (d == 1 and shape[broadcast_dimensions[i]] != 1)
    ]
    kept_shape = [in_shape[i] for i in kept]
    if len(kept) != len(in_shape):
        x = b.reshape(x, kept_shape)
    kept_targets = {broadcast_dimensions[i] for i in kept}
    added = [d for d in range(len(shape)) if d not in kept_targets]
    elt = b.ranked(x).element_type
    if not added:
        return b.reshape(x, shape)
    if not kept:
        return b.broadcast_scalar(x, shape)
    return b.broadcast(x, b.empty(shape, elt), added)


@register("transpose")
def _transpose(ctx, x, *, permutation):
    shape = ctx.avals_out[0].shape
    return b.transpose(x, b.empty(shape, b.ranked(x).element_type), permutation)


@register("slice")
def _slice(ctx, x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * len(start_indices)
    out_type = types.tensor_type(ctx.avals_out[0])
    return tensor.ExtractSliceOp(
        out_type, x, [], [], [], list(start_indices), list(ctx.avals_out[0].shape), list(strides)
    ).result


@register("split")
def _split(ctx, x, *, sizes, axis):
    """``jnp.split``: consecutive slices of the given sizes along ``axis``."""
    shape = list(ctx.avals_in[0].shape)
    pieces, start = [], 0
    for aval, size in zip(ctx.avals_out, sizes):
        offsets = [start if d == axis else 0 for d in range(len(shape))]
        pieces.append(
            tensor.ExtractSliceOp(
                types.tensor_type(aval), x, [], [], [], offsets, list(aval.shape), [1] * len(shape)
            ).result
        )
        start += int(size)
    return pieces


@register("platform_index")
def _platform_index(ctx, *, platforms, has_default=None):
    """Which branch of ``lax.platform_dependent`` runs: kvant compiles for the CPU."""
    for k, names in enumerate(platforms):  # noqa: B007 (k is the result, read after the loop)
        if names is not None and "cpu" in names:
            break
    else:
        defaults = [k for k, names in enumerate(platforms) if names is None]
        if not defaults:
            raise UnsupportedError("this program has no code for the CPU")
        k = defaults[0]
    from kvant.lowering.core import constant

    return constant(np.int32(k), ctx.avals_out[0])


@register("concatenate")
def _concatenate(ctx, *xs, dimension):
    out_type = types.tensor_type(ctx.avals_out[0])
    return tensor.ConcatOp(out_type, dimension, list(xs)).result


#: prim -> ((float op, signed int op, unsigned/bool op, complex op), initial value for a dtype)
_REDUCTIONS = {
    "reduce_sum": (("arith.addf", "arith.addi", "arith.addi", "complex.add"), lambda dt: 0),
    "reduce_prod": (("arith.mulf", "arith.muli", "arith.muli", "complex.mul"), lambda dt: 1),
    # maximumf/minimumf propagate NaN, as XLA's reductions do
    "reduce_max": (
        ("arith.maximumf", "arith.maxsi", "arith.maxui", None),
        lambda dt: -np.inf if types.is_float(dt) else _int_bounds(dt)[0],
    ),
    "reduce_min": (
        ("arith.minimumf", "arith.minsi", "arith.minui", None),
        lambda dt: np.inf if types.is_float(dt) else _int_bounds(dt)[1],
    ),
    # booleans are 0/1 bytes, so the bitwise ops are the logical ones
    "reduce_and": (
        (None, "arith.andi", "arith.andi", None),
        lambda dt: 1 if types.is_bool(dt) else -1,
    ),
    "reduce_or": ((None, "arith.ori", "arith.ori", None), lambda dt: 0),
    "reduce_xor": ((None, "arith.xori", "arith.xori", None), lambda dt: 0),
}


def _int_bounds(dtype):
    """(lowest, highest) value of an integer or boolean dtype."""
    if types.is_bool(dtype):
        return 0, 1
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _element_op(ops, dtype):
    """Pick from (float, signed, unsigned/bool, complex) ops by dtype; None if unsupported."""
    if types.is_complex(dtype):
        return ops[3]
    if types.is_float(dtype):
        return ops[0]
    return ops[2] if types.is_unsigned(dtype) or types.is_bool(dtype) else ops[1]


def _reduction(prim, ops, initial):
    @register(prim)
    def rule(ctx, x, *, axes, out_sharding=None):
        dtype = np.dtype(ctx.avals_in[0].dtype)
        op = _element_op(ops, dtype)
        if op is None:
            raise UnsupportedError(f"'{prim}' on {dtype} arrays is not supported")
        if not axes:
            return x
        elt = b.ranked(x).element_type
        init = b.filled(ctx.avals_out[0].shape, elt, initial(dtype))
        linalg = b.linalg_ops()
        red = linalg.ReduceOp([types.tensor_type(ctx.avals_out[0])], [x], [init], list(axes))
        block = red.regions[0].blocks.append(elt, elt)
        with ir.InsertionPoint(block):
            linalg.YieldOp([b.create(op, elt, block.arguments)])
        return red.result

    return rule


for _prim, (_ops, _initial) in _REDUCTIONS.items():
    _reduction(_prim, _ops, _initial)


def _arg_reduction(prim, float_better, int_better, uint_better, initial):
    """argmax/argmin along one axis: a reduction carrying (best value, its index). A strictly
    better value replaces the best, so ties keep the first index; NaN counts as better than
    any number (XLA's convention), so the first NaN wins."""

    @register(prim)
    def rule(ctx, x, *, axes, index_dtype):
        dtype = np.dtype(ctx.avals_in[0].dtype)
        if types.is_complex(dtype):
            raise UnsupportedError(f"'{prim}' on complex arrays is not supported")
        (axis,) = axes
        shape = ctx.avals_in[0].shape
        rank = len(shape)
        out_shape = ctx.avals_out[0].shape
        elt = b.ranked(x).element_type
        idx_type = types.tensor_type(ctx.avals_out[0])
        idx_elt = idx_type.element_type
        kept = [d for d in range(rank) if d != axis]
        maps = [b.affine_map(rank, range(rank)), b.affine_map(rank, kept), b.affine_map(rank, kept)]
        iters = ["reduction" if d == axis else "parallel" for d in range(rank)]
        inits = [b.filled(out_shape, elt, initial(dtype)), b.filled(out_shape, idx_elt, 0)]

        def body(v, best, best_idx):
            if types.is_float(dtype):
                unordered = arith.CmpFOp(arith.CmpFPredicate.UNO, v, v).result
                best_is_number = arith.CmpFOp(arith.CmpFPredicate.ORD, best, best).result
                take = arith.OrIOp(
                    arith.CmpFOp(getattr(arith.CmpFPredicate, float_better), v, best).result,
                    arith.AndIOp(unordered, best_is_number).result,
                ).result
            else:
                pred = (
                    uint_better if types.is_unsigned(dtype) or types.is_bool(dtype) else int_better
                )
                take = arith.CmpIOp(getattr(arith.CmpIPredicate, pred), v, best).result
            i = arith.IndexCastOp(idx_elt, b.loop_index(axis)).result
            return [arith.SelectOp(take, v, best).result, arith.SelectOp(take, i, best_idx).result]

        _, indices = b.generic_multi(
            [b.tensor_of(out_shape, elt), idx_type], [x], inits, maps, iters, body
        )
        return indices

    return rule


_arg_reduction(
    "argmax", "OGT", "sgt", "ugt", lambda dt: -np.inf if types.is_float(dt) else _int_bounds(dt)[0]
)
_arg_reduction(
    "argmin", "OLT", "slt", "ult", lambda dt: np.inf if types.is_float(dt) else _int_bounds(dt)[1]
)


@register("rev")
def _rev(ctx, x, *, dimensions):
    """Reverse along ``dimensions``: read the input at (n - 1 - i) there."""
    shape = ctx.avals_in[0].shape
    rank = len(shape)
    exprs = [
        ir.AffineConstantExpr.get(shape[d] - 1) - ir.AffineDimExpr.get(d) if d in dimensions else d
        for d in range(rank)
    ]
    maps = [b.affine_map_exprs(rank, exprs), b.affine_map(rank, range(rank))]
    out_type = types.tensor_type(ctx.avals_out[0])
    init = b.empty(shape, out_type.element_type)
    return b.generic(out_type, [x], init, maps, ["parallel"] * rank, lambda v, _: v)


@register("pad")
def _pad(ctx, x, padding_value, *, padding_config):
    """``lax.pad``: (low, high, interior) per dimension, low/high possibly negative (cropping).

    A ``tensor.generate`` reads, for each output position o, operand position
    (o - low) / (interior + 1) when that is a whole in-range number, else the padding value;
    the read index is clamped so that it is always valid. One form for every case, where
    ``tensor.pad`` covers neither interior nor negative padding."""
    in_shape = ctx.avals_in[0].shape
    out_type = types.tensor_type(ctx.avals_out[0])
    pad = b.extract_scalar(padding_value)
    if 0 in in_shape:
        return b.broadcast_scalar(padding_value, out_type.shape)
    index = ir.IndexType.get()
    gen = tensor.GenerateOp(out_type, [])
    block = gen.regions[0].blocks.append(*([index] * len(in_shape)))
    with ir.InsertionPoint(block):
        inside = None
        source = []
        for o, n, (low, _high, interior) in zip(block.arguments, in_shape, padding_config):
            t = arith.SubIOp(o, _index_constant(low)).result
            step = _index_constant(interior + 1)
            q = arith.DivSIOp(arith.MaxSIOp(t, _index_constant(0)).result, step).result
            ok = arith.AndIOp(
                arith.CmpIOp(arith.CmpIPredicate.sge, t, _index_constant(0)).result,
                arith.CmpIOp(arith.CmpIPredicate.slt, q, _index_constant(n)).result,
            ).result
            if interior:
                on_grid = arith.CmpIOp(
                    arith.CmpIPredicate.eq, arith.RemSIOp(t, step).result, _index_constant(0)
                ).result
                ok = arith.AndIOp(ok, on_grid).result
            inside = ok if inside is None else arith.AndIOp(inside, ok).result
            source.append(arith.MinSIOp(q, _index_constant(n - 1)).result)
        value = tensor.ExtractOp(x, source).result
        tensor.YieldOp(arith.SelectOp(inside, value, pad).result)
    return gen.result


@register("dot_general")
def _dot_general(
    ctx,
    lhs,
    rhs,
    *,
    dimension_numbers,
    precision=None,
    preferred_element_type=None,
    out_sharding=None,
):
    """One ``linalg.generic``: loops over batch, lhs-free, rhs-free (the output's dims, in
    this order as in XLA) and contracted dims; operands of another dtype than the result (a
    ``preferred_element_type``) are converted inside the loop body."""
    from kvant.lowering.rules.elementwise import _convert_scalar

    (lc, rc), (lb, rb) = dimension_numbers
    la, ra = ctx.avals_in
    lf = [d for d in range(la.ndim) if d not in lc and d not in lb]
    rf = [d for d in range(ra.ndim) if d not in rc and d not in rb]
    nb, nlf, nrf, nc = len(lb), len(lf), len(rf), len(lc)
    n = nb + nlf + nrf + nc
    lhs_map = [0] * la.ndim
    rhs_map = [0] * ra.ndim
    for i, (l, r) in enumerate(zip(lb, rb)):
        lhs_map[l], rhs_map[r] = i, i
    for i, d in enumerate(lf):
        lhs_map[d] = nb + i
    for i, d in enumerate(rf):
        rhs_map[d] = nb + nlf + i
    for i, (l, r) in enumerate(zip(lc, rc)):
        lhs_map[l], rhs_map[r] = nb + nlf + nrf + i, nb + nlf + nrf + i
    out_aval = ctx.avals_out[0]
    out_dtype = np.dtype(out_aval.dtype)
    out_type = types.tensor_type(out_aval)
    elt = out_type.element_type
    if types.is_bool(out_dtype):
        raise UnsupportedError("dot_general on boolean arrays is not supported")
    mul = _element_op(("arith.mulf", "arith.muli", "arith.muli", "complex.mul"), out_dtype)
    add = _element_op(("arith.addf", "arith.addi", "arith.addi", "complex.add"), out_dtype)
    init = b.filled(out_aval.shape, elt, 0)
    maps = [
        b.affine_map(n, lhs_map),
        b.affine_map(n, rhs_map),
        b.affine_map(n, range(nb + nlf + nrf)),
    ]
    iters = ["parallel"] * (nb + nlf + nrf) + ["reduction"] * nc

    def body(x, y, acc):
        x = _convert_scalar(x, la.dtype, out_dtype)
        y = _convert_scalar(y, ra.dtype, out_dtype)
        return b.create(add, elt, [acc, b.create(mul, elt, [x, y])])

    return b.generic(out_type, [lhs, rhs], init, maps, iters, body)


@register("iota")
def _iota(ctx, *, dtype, shape, dimension, sharding=None):
    values = np.broadcast_to(
        np.arange(shape[dimension], dtype=dtype).reshape(
            [-1 if i == dimension else 1 for i in range(len(shape))]
        ),
        shape,
    )
    from kvant.lowering.core import constant

    return constant(values)


_index = b.to_index
_index_constant = b.index_constant


def _clamp_start(start: ir.Value, dim: int, size: int) -> ir.Value:
    """XLA's rule for slice starts: clamp so that the whole slice lies inside the operand."""
    low = arith.MaxSIOp(start, _index_constant(0)).result
    return arith.MinSIOp(low, _index_constant(max(dim - size, 0))).result


@register("dynamic_slice")
def _dynamic_slice(ctx, operand, *starts, slice_sizes):
    shape = ctx.avals_in[0].shape
    offsets = [
        _clamp_start(_index(b.extract_scalar(s)), d, n)
        for s, d, n in zip(starts, shape, slice_sizes)
    ]
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    return tensor.ExtractSliceOp(
        types.tensor_type(ctx.avals_out[0]),
        operand,
        offsets,
        [],
        [],
        [dynamic] * len(shape),
        list(slice_sizes),
        [1] * len(shape),
    ).result


@register("dynamic_update_slice")
def _dynamic_update_slice(ctx, operand, update, *starts):
    shape, sizes = ctx.avals_in[0].shape, ctx.avals_in[1].shape
    offsets = [
        _clamp_start(_index(b.extract_scalar(s)), d, n) for s, d, n in zip(starts, shape, sizes)
    ]
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    return tensor.InsertSliceOp(
        update, operand, offsets, [], [], [dynamic] * len(shape), list(sizes), [1] * len(shape)
    ).result


@register("gather")
def _gather(
    ctx,
    operand,
    indices,
    *,
    dimension_numbers,
    slice_sizes,
    mode=None,
    fill_value=None,
    indices_are_sorted=False,
    unique_indices=False,
):
    """Each output element is read from the operand at (clamped start + offset): a
    ``tensor.generate`` whose body computes that index. Covers the forms of ``x[i]``,
    ``x[i, j]``, ``x[:, k]``, integer-array indexing and their ``vmap``. Modes CLIP and
    PROMISE_IN_BOUNDS clamp the start (XLA's rule); FILL_OR_DROP (``x.at[i].get(mode="fill")``)
    gives ``fill_value`` for a slice whose start is out of bounds."""
    dn = dimension_numbers
    # Batching dims (what jax.vmap of an indexing op gives): operand dim operand_batching_dims[j]
    # is read at the output's position along indices dim start_indices_batching_dims[j].
    operand_batching = tuple(getattr(dn, "operand_batching_dims", ()))
    indices_batching = tuple(getattr(dn, "start_indices_batching_dims", ()))
    op_shape = ctx.avals_in[0].shape
    out_aval = ctx.avals_out[0]
    out_rank = len(out_aval.shape)
    batch_out = [d for d in range(out_rank) if d not in dn.offset_dims]
    offset_operand_dims = [
        d
        for d in range(len(op_shape))
        if d not in dn.collapsed_slice_dims and d not in operand_batching
    ]
    out_type = types.tensor_type(out_aval)
    fill = mode is not None and "FILL_OR_DROP" in str(mode)
    if fill and fill_value is None:
        fill_value = _default_fill(out_aval.dtype)
    gen = tensor.GenerateOp(out_type, [])
    block = gen.regions[0].blocks.append(*([ir.IndexType.get()] * out_rank))
    with ir.InsertionPoint(block):
        out_idx = list(block.arguments)
        starts = {}
        inside = None
        for k, od in enumerate(dn.start_index_map):
            position = [out_idx[d] for d in batch_out] + [_index_constant(k)]
            raw = _index(tensor.ExtractOp(indices, position).result)
            starts[od] = _clamp_start(raw, op_shape[od], slice_sizes[od])
            if fill:  # in bounds iff the clamp changed nothing
                same = arith.CmpIOp(arith.CmpIPredicate.eq, raw, starts[od]).result
                inside = same if inside is None else arith.AndIOp(inside, same).result
        for od, idim in zip(operand_batching, indices_batching):
            starts[od] = out_idx[batch_out[idim]]
        operand_idx = []
        for d in range(len(op_shape)):
            base = starts.get(d, _index_constant(0))
            if d in offset_operand_dims:
                offset = out_idx[dn.offset_dims[offset_operand_dims.index(d)]]
                base = arith.AddIOp(base, offset).result
            operand_idx.append(base)
        value = tensor.ExtractOp(operand, operand_idx).result
        if inside is not None:
            value = arith.SelectOp(inside, value, b.scalar_constant(value.type, fill_value)).result
        tensor.YieldOp(value)
    return gen.result


def _default_fill(dtype):
    """JAX's fill value for out-of-bounds gathers (see lax.gather)."""
    if types.is_float(dtype) or types.is_complex(dtype):
        return np.nan
    return (
        _int_bounds(dtype)[1]
        if types.is_unsigned(dtype) or types.is_bool(dtype)
        else _int_bounds(dtype)[0]
    )
