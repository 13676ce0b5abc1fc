"""Rules for kvant's control-flow primitives: ``scf.for``, ``scf.while`` and ``scf.if``.

A region traced inside a QNode (``quantum=True``) receives the QNode's register as one more
loop-carried value / branch result: the enclosing state flushes its qubits into the register,
the region extracts what it needs from its own copy, and flushes again before yielding.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, scf

from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.regions import carried_type, from_carried, to_carried
from kvant.lowering.registry import register
from kvant.lowering.rules.quantum import QuantumState


def _i64():
    return ir.IntegerType.get_signless(64)


def _thread_register(ctx, quantum, values):
    """Carried values (scalars for rank-0 tensors), plus the register when the region is
    quantum."""
    carried = to_carried(values)
    if not quantum:
        return carried
    return carried + [ctx.quantum.flush()]


def _region_state(ctx, quantum, register):
    return QuantumState(ctx.quantum.num_wires, register) if quantum else None


def _finish(ctx, quantum, results, out_types):
    """Results of the op as tensors; the register, if carried, becomes the enclosing state's."""
    results = list(results)
    if quantum:
        ctx.quantum.register = results.pop()
    return from_carried(results, out_types)


def _lower_region(ctx, closed, args, state):
    """The region's results as they are yielded (rank-0 tensors as scalars, then the
    register)."""
    outs = ctx.lowering.lower_jaxpr(closed.jaxpr, closed.consts, list(args), quantum=state)
    outs = to_carried(outs)
    if state is not None:
        outs.append(state.flush())
    return outs


@register("kvant_for")
def _for(ctx, lower, upper, step, *operands, body, num_consts, quantum):
    consts, init = operands[:num_consts], operands[num_consts:]
    lb, ub, st = (b.extract_scalar(v) for v in (lower, upper, step))
    # Iterations k = 0 .. ceil((upper - lower) / step) - 1 with i = lower + k*step: one form for
    # either sign of step (scf.for needs a positive step).
    trips = arith.CeilDivSIOp(arith.SubIOp(ub, lb).result, st).result
    trips = arith.MaxSIOp(trips, b.scalar_constant(_i64(), 0)).result
    index = ir.IndexType.get()
    zero = arith.ConstantOp(index, 0).result
    one = arith.ConstantOp(index, 1).result
    loop = scf.ForOp(
        zero, arith.IndexCastOp(index, trips).result, one, _thread_register(ctx, quantum, init)
    )
    with ir.InsertionPoint(loop.body):
        k = arith.IndexCastOp(_i64(), loop.induction_variable).result
        i = arith.AddIOp(lb, arith.MulIOp(k, st).result).result
        carried = list(loop.inner_iter_args)
        state = _region_state(ctx, quantum, carried.pop() if quantum else None)
        carried = from_carried(carried, init)
        outs = _lower_region(ctx, body, list(consts) + [b.from_scalar(i)] + carried, state)
        scf.YieldOp(outs)
    return _finish(ctx, quantum, loop.results, init)


@register("kvant_while")
def _while(ctx, *operands, cond, body, num_cond_consts, num_body_consts, quantum):
    cond_consts = operands[:num_cond_consts]
    body_consts = operands[num_cond_consts : num_cond_consts + num_body_consts]
    init = operands[num_cond_consts + num_body_consts :]
    carried = _thread_register(ctx, quantum, init)
    result_types = [v.type for v in carried]
    loop = scf.WhileOp(result_types, carried)
    before = loop.before.blocks.append(*result_types)
    with ir.InsertionPoint(before):
        args = list(before.arguments)
        state_args = from_carried(args[:-1] if quantum else args, init)
        (predicate,) = ctx.lowering.lower_jaxpr(
            cond.jaxpr, cond.consts, list(cond_consts) + state_args
        )
        scf.ConditionOp(b.truth(predicate), args)
    after = loop.after.blocks.append(*result_types)
    with ir.InsertionPoint(after):
        args = list(after.arguments)
        state = _region_state(ctx, quantum, args.pop() if quantum else None)
        args = from_carried(args, init)
        scf.YieldOp(_lower_region(ctx, body, list(body_consts) + args, state))
    return _finish(ctx, quantum, loop.results, init)


@register("kvant_cond")
def _cond(ctx, *operands, branches, const_counts, quantum):
    num_preds = len(branches) - 1
    preds = operands[:num_preds]
    rest = operands[num_preds:]
    consts, start = [], 0
    for count in const_counts:
        consts.append(list(rest[start : start + count]))
        start += count
    args = list(rest[start:])
    out_types = [types.tensor_type(a) for a in ctx.avals_out]
    result_types = [carried_type(t) for t in out_types]
    if quantum:
        register_in = ctx.quantum.flush()
        result_types.append(register_in.type)

    def branch(k):
        state = _region_state(ctx, quantum, register_in if quantum else None)
        return _lower_region(ctx, branches[k], consts[k] + args, state)

    def chain(k):
        """Results of branches k.. : an scf.if per predicate, the otherwise branch last."""
        if k == num_preds:
            return branch(k)
        if_op = scf.IfOp(b.truth(preds[k]), result_types, has_else=True)
        with ir.InsertionPoint(if_op.then_block):
            scf.YieldOp(branch(k))
        with ir.InsertionPoint(if_op.else_block):
            scf.YieldOp(chain(k + 1))
        return list(if_op.results)

    return _finish(ctx, quantum, chain(0), out_types)
