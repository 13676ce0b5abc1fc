"""Rules for primitives that move, reshape, select or reduce elements."""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, linalg, tensor

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


@register("copy", "copy_p", "device_put", "stop_gradient", "optimization_barrier")
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
    kept = [i for i, d in enumerate(in_shape) if not (d == 1 and shape[broadcast_dimensions[i]] != 1)]
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
    return b.value_of(linalg.broadcast(x, outs=[b.empty(shape, elt)], dimensions=added))


@register("transpose")
def _transpose(ctx, x, *, permutation):
    shape = ctx.avals_out[0].shape
    return b.value_of(
        linalg.transpose(x, outs=[b.empty(shape, b.ranked(x).element_type)], permutation=list(permutation))
    )


@register("slice")
def _slice(ctx, x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * len(start_indices)
    out_type = types.tensor_type(ctx.avals_out[0])
    return tensor.ExtractSliceOp(
        out_type, x, [], [], [], list(start_indices), list(ctx.avals_out[0].shape), list(strides)
    ).result


@register("concatenate")
def _concatenate(ctx, *xs, dimension):
    out_type = types.tensor_type(ctx.avals_out[0])
    return tensor.ConcatOp(out_type, dimension, list(xs)).result


def _reduction(prim, float_init, int_init, float_op, int_op):
    @register(prim)
    def rule(ctx, x, *, axes, out_sharding=None):
        aval = ctx.avals_in[0]
        if types.is_complex(aval.dtype):
            raise UnsupportedError(f"'{prim}' on complex arrays is not supported yet")
        is_f = types.is_float(aval.dtype)
        elt = b.ranked(x).element_type
        out_shape = ctx.avals_out[0].shape
        if not axes:
            return x
        init = b.filled(out_shape, elt, float_init if is_f else int_init(aval.dtype))
        op = linalg.ReduceOp([types.tensor_type(ctx.avals_out[0])], [x], [init], list(axes))
        block = op.regions[0].blocks.append(elt, elt)
        with ir.InsertionPoint(block):
            name = float_op if is_f else int_op
            combined = ir.Operation.create(name, results=[elt], operands=list(block.arguments)).result
            linalg.YieldOp([combined])
        return op.result

    return rule


_reduction("reduce_sum", 0.0, lambda dt: 0, "arith.addf", "arith.addi")
_reduction("reduce_prod", 1.0, lambda dt: 1, "arith.mulf", "arith.muli")
_reduction("reduce_max", -np.inf, lambda dt: np.iinfo(dt).min if not types.is_bool(dt) else 0,
           "arith.maximumf", "arith.maxsi")
_reduction("reduce_min", np.inf, lambda dt: np.iinfo(dt).max if not types.is_bool(dt) else 1,
           "arith.minimumf", "arith.minsi")


@register("dot_general")
def _dot_general(ctx, lhs, rhs, *, dimension_numbers, precision=None, preferred_element_type=None,
                 out_sharding=None):
    (lc, rc), (lb, rb) = dimension_numbers
    la, ra = ctx.avals_in
    if types.is_complex(la.dtype) or types.is_complex(ra.dtype):
        raise UnsupportedError("dot_general on complex arrays is not supported yet")
    lf = [d for d in range(la.ndim) if d not in lc and d not in lb]
    rf = [d for d in range(ra.ndim) if d not in rc and d not in rb]
    # Loop dims: batch, lhs free, rhs free (the output's), then the contracted ones.
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
    out_type = types.tensor_type(out_aval)
    elt = out_type.element_type
    is_f = types.is_float(out_aval.dtype)
    init = b.filled(out_aval.shape, elt, 0.0 if is_f else 0)
    if np.dtype(la.dtype) != np.dtype(out_aval.dtype) or np.dtype(ra.dtype) != np.dtype(out_aval.dtype):
        raise UnsupportedError("dot_general with mixed element types is not supported yet")
    maps = [b.affine_map(n, lhs_map), b.affine_map(n, rhs_map), b.affine_map(n, range(nb + nlf + nrf))]
    iters = ["parallel"] * (nb + nlf + nrf) + ["reduction"] * nc
    mul, add = ("arith.mulf", "arith.addf") if is_f else ("arith.muli", "arith.addi")

    def body(x, y, acc):
        prod = ir.Operation.create(mul, results=[elt], operands=[x, y]).result
        return ir.Operation.create(add, results=[elt], operands=[acc, prod]).result

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


def _index(value: ir.Value) -> ir.Value:
    """An integer scalar as an MLIR ``index``."""
    return arith.IndexCastOp(ir.IndexType.get(), value).result


def _index_constant(v: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), v).result


def _clamp_start(start: ir.Value, dim: int, size: int) -> ir.Value:
    """XLA's rule for slice starts: clamp so that the whole slice lies inside the operand."""
    low = arith.MaxSIOp(start, _index_constant(0)).result
    return arith.MinSIOp(low, _index_constant(max(dim - size, 0))).result


@register("dynamic_slice")
def _dynamic_slice(ctx, operand, *starts, slice_sizes):
    shape = ctx.avals_in[0].shape
    offsets = [
        _clamp_start(_index(b.extract_scalar(s)), d, n) for s, d, n in zip(starts, shape, slice_sizes)
    ]
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    return tensor.ExtractSliceOp(
        types.tensor_type(ctx.avals_out[0]), operand, offsets, [], [],
        [dynamic] * len(shape), list(slice_sizes), [1] * len(shape),
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
def _gather(ctx, operand, indices, *, dimension_numbers, slice_sizes, mode=None, fill_value=None,
            indices_are_sorted=False, unique_indices=False):
    """Each output element is read from the operand at (clamped start + offset): a
    ``tensor.generate`` whose body computes that index. Covers the forms of ``x[i]``,
    ``x[i, j]``, ``x[:, k]`` and integer-array indexing."""
    dn = dimension_numbers
    if getattr(dn, "operand_batching_dims", ()):
        raise UnsupportedError("gather with batching dimensions is not supported yet")
    op_shape = ctx.avals_in[0].shape
    out_aval = ctx.avals_out[0]
    out_rank = len(out_aval.shape)
    batch_out = [d for d in range(out_rank) if d not in dn.offset_dims]
    offset_operand_dims = [d for d in range(len(op_shape)) if d not in dn.collapsed_slice_dims]
    out_type = types.tensor_type(out_aval)
    gen = tensor.GenerateOp(out_type, [])
    block = gen.regions[0].blocks.append(*([ir.IndexType.get()] * out_rank))
    with ir.InsertionPoint(block):
        out_idx = list(block.arguments)
        starts = {}
        for k, od in enumerate(dn.start_index_map):
            position = [out_idx[d] for d in batch_out] + [_index_constant(k)]
            raw = tensor.ExtractOp(indices, position).result
            starts[od] = _clamp_start(_index(raw), op_shape[od], slice_sizes[od])
        operand_idx = []
        for d in range(len(op_shape)):
            base = starts.get(d, _index_constant(0))
            if d in offset_operand_dims:
                offset = out_idx[dn.offset_dims[offset_operand_dims.index(d)]]
                base = arith.AddIOp(base, offset).result
            operand_idx.append(base)
        tensor.YieldOp(tensor.ExtractOp(operand, operand_idx).result)
    return gen.result
