"""Rules for the scatter family: ``scatter`` (``x.at[i].set(v)``), ``scatter-add``
(``x.at[i].add(v)``), ``scatter-sub``, ``scatter-mul``, ``scatter-min``, ``scatter-max``.

XLA's scatter, element by element: every element u of ``updates`` has a *scatter* part of its
position (which index vector of ``indices`` it belongs to) and a *window* part (its offset
inside the updated window). Its operand position is the index vector's start (on the operand
dims ``scatter_dims_to_operand_dims``) plus the window offset (on the operand dims that are not
``inserted_window_dims``). A loop nest over ``updates`` carries the operand tensor and combines
each element in, one at a time, so repeated indices accumulate as in XLA.

Out-of-bounds windows are dropped whole (mode FILL_OR_DROP, JAX's default for ``.at[]``
updates; PROMISE_IN_BOUNDS gets the same safe treatment) or, in mode CLIP, moved inside.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith, scf, tensor

from kvant.errors import UnsupportedError
from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.registry import register

#: prim -> (float op, signed op, unsigned/bool op, complex op); None means "replace"
_COMBINERS = {
    "scatter": None,
    "scatter-add": ("arith.addf", "arith.addi", "arith.addi", "complex.add"),
    "scatter_add": ("arith.addf", "arith.addi", "arith.addi", "complex.add"),
    "scatter-sub": ("arith.subf", "arith.subi", "arith.subi", "complex.sub"),
    "scatter-mul": ("arith.mulf", "arith.muli", "arith.muli", "complex.mul"),
    "scatter-min": ("arith.minimumf", "arith.minsi", "arith.minui", None),
    "scatter-max": ("arith.maximumf", "arith.maxsi", "arith.maxui", None),
}


def _combiner(prim, dtype):
    ops = _COMBINERS[prim]
    if ops is None:
        return lambda old, new: new
    if types.is_complex(dtype):
        name = ops[3]
    elif types.is_float(dtype):
        name = ops[0]
    else:
        name = ops[2] if types.is_unsigned(dtype) or types.is_bool(dtype) else ops[1]
    if name is None:
        raise UnsupportedError(f"'{prim}' on {np.dtype(dtype)} arrays is not supported")
    return lambda old, new: b.create(name, old.type, [old, new])


def _loop_nest(shape, carried, body):
    """scf.for loops over every position of ``shape`` carrying one tensor;
    ``body(position, carried) -> new carried`` runs in the innermost one."""

    def level(depth, position, value):
        if depth == len(shape):
            return body(position, value)
        loop = scf.ForOp(
            b.index_constant(0), b.index_constant(shape[depth]), b.index_constant(1), [value]
        )
        with ir.InsertionPoint(loop.body):
            scf.YieldOp(
                [level(depth + 1, position + [loop.induction_variable], loop.inner_iter_args[0])]
            )
        return loop.results[0]

    return level(0, [], carried)


def _scatter(prim):
    @register(prim)
    def rule(
        ctx,
        operand,
        indices,
        updates,
        *,
        dimension_numbers,
        mode=None,
        update_jaxpr=None,
        update_consts=(),
        indices_are_sorted=False,
        unique_indices=False,
    ):
        dn = dimension_numbers
        # Batching dims (jax.vmap of an update): operand dim operand_batching_dims[j] is
        # written at the update's position along indices dim scatter_indices_batching_dims[j].
        operand_batching = tuple(getattr(dn, "operand_batching_dims", ()))
        indices_batching = tuple(getattr(dn, "scatter_indices_batching_dims", ()))
        op_shape = ctx.avals_in[0].shape
        upd_shape = ctx.avals_in[2].shape
        combine = _combiner(prim, ctx.avals_in[0].dtype)
        clip = mode is not None and "CLIP" in str(mode)
        window_operand_dims = [
            d
            for d in range(len(op_shape))
            if d not in dn.inserted_window_dims and d not in operand_batching
        ]
        scatter_update_dims = [d for d in range(len(upd_shape)) if d not in dn.update_window_dims]
        window_size = {d: 1 for d in (*dn.inserted_window_dims, *operand_batching)}
        for od, ud in zip(window_operand_dims, dn.update_window_dims):
            window_size[od] = upd_shape[ud]
        index = ir.IndexType.get()
        if 0 in upd_shape:
            return operand

        def body(u, current):
            # the index vector of this update element: indices[scatter part of u, k]
            batch = [u[d] for d in scatter_update_dims]
            starts, inside = {}, None
            for k, od in enumerate(dn.scatter_dims_to_operand_dims):
                raw = tensor.ExtractOp(indices, batch + [b.index_constant(k)]).result
                start = arith.IndexCastOp(index, raw).result
                highest = b.index_constant(op_shape[od] - window_size[od])
                if clip:
                    start = arith.MinSIOp(
                        arith.MaxSIOp(start, b.index_constant(0)).result, highest
                    ).result
                else:
                    ok = arith.AndIOp(
                        arith.CmpIOp(arith.CmpIPredicate.sge, start, b.index_constant(0)).result,
                        arith.CmpIOp(arith.CmpIPredicate.sle, start, highest).result,
                    ).result
                    inside = ok if inside is None else arith.AndIOp(inside, ok).result
                starts[od] = start
            for od, idim in zip(operand_batching, indices_batching):
                starts[od] = batch[idim]
            position = []
            for d in range(len(op_shape)):
                p = starts.get(d, b.index_constant(0))
                if d in window_operand_dims:
                    offset = u[dn.update_window_dims[window_operand_dims.index(d)]]
                    p = arith.AddIOp(p, offset).result
                position.append(p)

            def updated():
                old = tensor.ExtractOp(current, position).result
                new = tensor.ExtractOp(updates, u).result
                return tensor.InsertOp(combine(old, new), current, position).result

            if inside is None:
                return updated()
            branch = scf.IfOp(inside, [current.type], has_else=True)
            with ir.InsertionPoint(branch.then_block):
                scf.YieldOp([updated()])
            with ir.InsertionPoint(branch.else_block):
                scf.YieldOp([current])
            return branch.results[0]

        return _loop_nest(upd_shape, operand, body)

    return rule


for _prim in _COMBINERS:
    _scatter(_prim)
