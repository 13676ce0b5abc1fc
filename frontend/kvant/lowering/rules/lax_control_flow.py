"""Rules for JAX's own control-flow primitives, classical bodies only: ``cond`` (``lax.cond``,
``lax.switch``) → ``scf.if`` / ``scf.index_switch``, ``while`` (``lax.while_loop``, and
``lax.fori_loop`` with traced bounds) → ``scf.while``, ``scan`` (``lax.scan``, and
``lax.fori_loop`` with static bounds) → ``scf.for``.

Each sub-JAXPR is lowered inline into the op's region. Quantum operations inside them would need
the QNode's register threaded through the region (what kvant's own ``for_loop``, ``while_loop``
and ``cond`` do, see ``control_flow.py``), so they are refused here.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, scf, tensor

from kvant.errors import UnsupportedError
from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.regions import carried_type, from_carried, to_carried
from kvant.lowering.registry import register

#: primitives that act on a QNode's quantum state
_QUANTUM = {
    "kvant_gate",
    "kvant_unitary",
    "kvant_expval",
    "kvant_var",
    "kvant_probs",
    "kvant_state",
}


def _sub_jaxprs(params):
    for value in params.values():
        for item in value if isinstance(value, (tuple, list)) else [value]:
            inner = getattr(item, "jaxpr", None)
            if inner is not None and hasattr(inner, "eqns"):
                yield inner
            elif hasattr(item, "eqns"):
                yield item


def _touches_quantum_state(jaxpr) -> bool:
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in _QUANTUM or eqn.params.get("quantum") is True:
            return True
        if eqn.primitive.name != "kvant_qnode" and any(
            _touches_quantum_state(j) for j in _sub_jaxprs(eqn.params)
        ):
            return True
    return False


def _classical_only(ctx, what, closed_jaxprs):
    if ctx.quantum is not None and any(_touches_quantum_state(c.jaxpr) for c in closed_jaxprs):
        raise UnsupportedError(
            f"{what} around quantum operations is not supported inside a QNode; use "
            "kvant.for_loop, kvant.while_loop or kvant.cond there"
        )


def _lower(ctx, closed, args):
    return ctx.lowering.lower_jaxpr(closed.jaxpr, closed.consts, list(args), None)


def _lower_region(ctx, closed, args):
    """The region's results in carried form, ready to yield (see ``regions``)."""
    return to_carried(_lower(ctx, closed, args))


@register("cond")
def _cond(ctx, index, *args, branches, **params):
    """``branches[index]`` (JAX clamps the index of ``lax.switch`` before, and converts the
    predicate of ``lax.cond`` to 0/1)."""
    _classical_only(ctx, "jax.lax.cond", branches)
    out_types = [types.tensor_type(a) for a in ctx.avals_out]
    result_types = [carried_type(t) for t in out_types]
    if len(branches) == 1:
        return _lower(ctx, branches[0], args)
    if len(branches) == 2:
        op = scf.IfOp(b.truth(index), result_types, has_else=True)
        with ir.InsertionPoint(op.then_block):
            scf.YieldOp(_lower_region(ctx, branches[1], args))
        with ir.InsertionPoint(op.else_block):
            scf.YieldOp(_lower_region(ctx, branches[0], args))
        return from_carried(op.results, out_types)
    selector = arith.IndexCastOp(ir.IndexType.get(), b.extract_scalar(index)).result
    # cases 0 .. n-2; the last branch is the default (the index is already clamped)
    op = scf.IndexSwitchOp(result_types, selector, list(range(len(branches) - 1)))
    for k in range(len(branches) - 1):
        with ir.InsertionPoint(op.case_block(k)):
            scf.YieldOp(_lower_region(ctx, branches[k], args))
    with ir.InsertionPoint(op.default_block):
        scf.YieldOp(_lower_region(ctx, branches[-1], args))
    return from_carried(op.results, out_types)


@register("while")
def _while(ctx, *operands, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    _classical_only(ctx, "jax.lax.while_loop", [cond_jaxpr, body_jaxpr])
    cond_consts = operands[:cond_nconsts]
    body_consts = operands[cond_nconsts : cond_nconsts + body_nconsts]
    init = list(operands[cond_nconsts + body_nconsts :])
    carried = to_carried(init)
    result_types = [v.type for v in carried]
    loop = scf.WhileOp(result_types, carried)
    before = loop.before.blocks.append(*result_types)
    with ir.InsertionPoint(before):
        state = from_carried(before.arguments, init)
        (predicate,) = _lower(ctx, cond_jaxpr, list(cond_consts) + state)
        scf.ConditionOp(b.truth(predicate), list(before.arguments))
    after = loop.after.blocks.append(*result_types)
    with ir.InsertionPoint(after):
        state = from_carried(after.arguments, init)
        scf.YieldOp(_lower_region(ctx, body_jaxpr, list(body_consts) + state))
    return from_carried(loop.results, init)


def _row_offsets(rank):
    """Static offsets/sizes for a slice [position, :, ...] whose first offset is dynamic."""
    return [ir.ShapedType.get_dynamic_stride_or_offset()] + [0] * (rank - 1)


@register("scan")
def _scan(ctx, *operands, jaxpr, length, reverse, num_consts, num_carry, **params):
    """``scf.for`` over the ``length`` rows of the scanned arrays. The loop carries the scan's
    carry and the stacked outputs ys, each step writing its row of every ys with
    ``tensor.insert_slice`` (``unroll`` is a performance hint kvant leaves to LLVM)."""
    _classical_only(ctx, "jax.lax.scan", [jaxpr])
    consts = list(operands[:num_consts])
    init = list(operands[num_consts : num_consts + num_carry])
    xs = list(operands[num_consts + num_carry :])
    xs_avals = ctx.avals_in[num_consts + num_carry :]
    ys_avals = ctx.avals_out[num_carry:]
    ys_init = [b.empty(a.shape, types.element_type(a.dtype)) for a in ys_avals]
    loop = scf.ForOp(
        b.index_constant(0),
        b.index_constant(length),
        b.index_constant(1),
        to_carried(init) + ys_init,
    )
    with ir.InsertionPoint(loop.body):
        k = loop.induction_variable
        row = arith.SubIOp(b.index_constant(length - 1), k).result if reverse else k
        carried = list(loop.inner_iter_args)
        carry, ys = from_carried(carried[:num_carry], init), carried[num_carry:]
        x_rows = []
        for x, aval in zip(xs, xs_avals):
            shape = list(aval.shape)
            row_type = b.tensor_of(shape[1:], types.element_type(aval.dtype))
            x_rows.append(
                tensor.ExtractSliceOp(
                    row_type,
                    x,
                    [row],
                    [],
                    [],
                    _row_offsets(len(shape)),
                    [1] + shape[1:],
                    [1] * len(shape),
                ).result
            )
        outs = _lower(ctx, jaxpr, consts + carry + x_rows)
        new_carry, y_rows = outs[:num_carry], outs[num_carry:]
        new_ys = []
        for y_row, y, aval in zip(y_rows, ys, ys_avals):
            shape = list(aval.shape)
            new_ys.append(
                tensor.InsertSliceOp(
                    y_row,
                    y,
                    [row],
                    [],
                    [],
                    _row_offsets(len(shape)),
                    [1] + shape[1:],
                    [1] * len(shape),
                ).result
            )
        scf.YieldOp(to_carried(new_carry) + new_ys)
    results = list(loop.results)
    return from_carried(results[:num_carry], init) + results[num_carry:]


@register("remat2", "checkpoint")
def _checkpoint(ctx, *args, jaxpr, **params):
    """``jax.checkpoint``: only a hint for reverse-mode differentiation; the body runs inline."""
    return ctx.lowering.lower_jaxpr(jaxpr, [], list(args), ctx.quantum)
