"""Rules for host callbacks: ``kvant_host_callback`` (``kvant.pure_callback``) and JAX's
``pure_callback`` and ``debug_callback`` (``jax.pure_callback``, ``jax.debug.print`` /
``jax.debug.callback``), each a ``host.callback`` op (HostOps.td).

The op names its function by its position in the module's table of host functions
(``ModuleLowering.host_function``), which the compiled program's caller supplies at each call:
the MLIR, and so the cached library, carries no identity of this process. The op is built with
the class generated from HostOps.td (``kvant.dialects.host``).
"""

from __future__ import annotations

import functools

from mlir import ir

from kvant.dialects import host
from kvant.lowering import types
from kvant.lowering.registry import register
from kvant.tracing.callbacks import HostFunction


def _callback_op(ctx, operands, function: HostFunction, vjp=None) -> list:
    number = ctx.lowering.host_function(function, ctx.avals_in, ctx.avals_out)
    symbols = {}
    if vjp is not None:
        fwd = ctx.lowering.function(("host_fwd", id(vjp)), f"{function.name}_fwd", vjp.fwd)
        bwd = ctx.lowering.function(("host_bwd", id(vjp)), f"{function.name}_bwd", vjp.bwd)
        symbols = {"fwd": ir.FlatSymbolRefAttr.get(fwd), "bwd": ir.FlatSymbolRefAttr.get(bwd)}
    op = host.CallbackOp(
        [types.tensor_type(a) for a in ctx.avals_out],
        ir.IntegerAttr.get(ir.IntegerType.get_signless(64), number),
        ir.StringAttr.get(function.name),
        list(operands),
        # no effects: MLIR may remove it when unused, as JAX does
        pure=function.kind == "pure",
        **symbols,
    )
    return list(op.results)


@register("kvant_host_callback")
def _host_callback(ctx, *args, function, result_avals, vjp):
    return _callback_op(ctx, args, function, vjp)


@register("pure_callback")
def _jax_pure_callback(ctx, *args, callback, result_avals, sharding, vmap_method):
    user = getattr(callback, "callback_func", callback)
    name = getattr(user, "__name__", "pure_callback")
    function = ctx.lowering.host_function_for(callback, lambda: HostFunction(callback, name))
    return _callback_op(ctx, args, function)


@register("debug_callback")
def _debug_callback(ctx, *args, callback, effect, partitioned):
    function = ctx.lowering.host_function_for(
        callback, lambda: HostFunction(callback, _debug_name(callback), kind="debug")
    )
    return _callback_op(ctx, args, function)


def _debug_name(callback) -> str:
    """What the user called: 'jax.debug.print('x = {}')' or 'jax.debug.callback(fn)' (the
    primitive's callback is JAX's flat wrapper around it)."""
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            inner = cell.cell_contents
        except ValueError:
            continue
        if isinstance(inner, functools.partial) and getattr(inner.func, "__name__", "") == (
            "_format_print_callback"
        ):
            fmt = inner.args[0] if inner.args else ""
            return f"jax.debug.print({fmt!r})"
        if callable(inner) and hasattr(inner, "__name__") and not isinstance(inner, type):
            return f"jax.debug.callback({inner.__name__})"
    return "jax.debug.callback"
