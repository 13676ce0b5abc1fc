"""Rules for primitives that call a sub-JAXPR: nested jit, custom derivatives (primal only),
QNode calls and derivatives.

``gradient.grad``, ``gradient.jvp`` and ``quantum.set_seed`` are built with the classes generated
from the dialects' ``.td`` files, their operands and attributes named as there (see
rules/quantum.py).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import func

from kvant.dialects import gradient, quantum
from kvant.lowering import types
from kvant.lowering.registry import register
from kvant.lowering.rules.quantum import QuantumState


def _call(ctx, symbol, operands):
    out_types = [types.tensor_type(a) for a in ctx.avals_out]
    return list(func.CallOp(out_types, ir.FlatSymbolRefAttr.get(symbol), list(operands)).results)


@register("pjit", "jit")
def _pjit(ctx, *args, jaxpr, name="jit", **params):
    symbol = ctx.lowering.function(("jit", id(jaxpr)), name, jaxpr)
    return _call(ctx, symbol, args)


@register("closed_call", "core_call")
def _closed_call(ctx, *args, call_jaxpr, **params):
    return ctx.lowering.lower_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, list(args), ctx.quantum)


@register("custom_jvp_call")
def _custom_jvp_call(ctx, *args, call_jaxpr, **params):
    # The primal computation; kvant's own differentiation rules apply to what it contains.
    return ctx.lowering.lower_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, list(args), ctx.quantum)


@register("custom_vjp_call")
def _custom_vjp_call(ctx, *args, call_jaxpr, **params):
    return ctx.lowering.lower_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, list(args), ctx.quantum)


@register("kvant_qnode")
def _qnode(ctx, *args, jaxpr, num_wires, device, diff_method, shots, seed, name, measurements):
    def body(block_args):
        if seed is not None:
            # every execution samples the same way: reproducible, like the seeded device
            quantum.SetSeedOp(seed=seed)
        state = QuantumState(num_wires)
        results = ctx.lowering.lower_jaxpr(jaxpr.jaxpr, jaxpr.consts, block_args, quantum=state)
        state.release()
        return results

    attributes = {"quantum.node": _qnode_attribute(device, diff_method, measurements, shots)}
    symbol = ctx.lowering.function(
        ("qnode", id(jaxpr)), f"qnode_{name}", jaxpr, attributes=attributes, body=body
    )
    return _call(ctx, symbol, args)


def _qnode_attribute(device, diff_method, measurements, shots) -> ir.Attribute:
    """The ``#quantum.node`` that marks a QNode's function (QuantumAttrs.td), built by the
    dialect's own constructor, which verifies it. diff_method None is spelt "None"."""
    from kvant import _mlir

    return _mlir.extension().quantum_node_attr(
        ir.Context.current, device, str(diff_method), list(measurements), int(shots or 0)
    )


@register("kvant_grad")
def _grad(ctx, *args, jaxpr, method, h, diff_args, name, with_values, num_diff_outputs):
    symbol = ctx.lowering.function(("grad_callee", id(jaxpr)), name, jaxpr)
    op = gradient.GradOp(
        [types.tensor_type(a) for a in ctx.avals_out],
        method=method,
        callee=symbol,
        diffArgIndices=list(diff_args),
        operands_=list(args),
        finiteDiffParam=None if h is None else float(h),
        withValues=with_values,
        numDiffResults=num_diff_outputs,
    )
    return list(op.results)


@register("kvant_jvp")
def _jvp(ctx, *args, jaxpr, diff_args, name, num_diff_outputs):
    symbol = ctx.lowering.function(("grad_callee", id(jaxpr)), name, jaxpr)
    num_args = len(jaxpr.in_avals)
    op = gradient.JVPOp(
        [types.tensor_type(a) for a in ctx.avals_out],
        callee=symbol,
        diffArgIndices=list(diff_args),
        args=list(args[:num_args]),
        tangents=list(args[num_args:]),
        numDiffResults=num_diff_outputs,
    )
    return list(op.results)
