"""Rules for elementwise primitives: arith/math ops applied to whole tensors.

``convert-elementwise-to-linalg`` later turns each tensor-level arith/math op into a
``linalg.generic``; keeping them as single ops here keeps the IR (and its derivative rules) small.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith

from kvant.errors import UnsupportedError
from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.registry import register


def _same_shape(ctx, operands):
    """JAX lets rank-0 literals and size-1 dimensions stand beside an array: broadcast every
    operand to the output shape."""
    shape = ctx.avals_out[0].shape
    return [b.broadcast_to(value, shape) for value in operands]


def _create(name, result_type, operands, attributes=None):
    return ir.Operation.create(name, results=[result_type], operands=operands, attributes=attributes or {}).result


def _out_type(ctx):
    return types.tensor_type(ctx.avals_out[0])


def _refuse_complex(ctx, prim):
    if any(types.is_complex(a.dtype) for a in ctx.avals_in):
        raise UnsupportedError(f"'{prim}' on complex arrays is not supported yet")


def _binary(prim, float_op, int_op, uint_op=None):
    @register(prim)
    def rule(ctx, x, y):
        _refuse_complex(ctx, prim)
        dtype = ctx.avals_in[0].dtype
        op = b.match_element_ops(dtype, float_op, int_op, uint_op)
        if op is None:
            raise UnsupportedError(f"'{prim}' on {np.dtype(dtype)} arrays is not supported")
        return _create(op, _out_type(ctx), _same_shape(ctx, [x, y]))

    return rule


_binary("add", "arith.addf", "arith.addi")
_binary("sub", "arith.subf", "arith.subi")
_binary("mul", "arith.mulf", "arith.muli")
_binary("div", "arith.divf", "arith.divsi", "arith.divui")
_binary("rem", "arith.remf", "arith.remsi", "arith.remui")
_binary("max", "arith.maximumf", "arith.maxsi", "arith.maxui")
_binary("min", "arith.minimumf", "arith.minsi", "arith.minui")
_binary("and", None, "arith.andi")
_binary("or", None, "arith.ori")
_binary("xor", None, "arith.xori")


def _unary_float(prim, op_name):
    @register(prim)
    def rule(ctx, x, **params):
        _refuse_complex(ctx, prim)
        if not types.is_float(ctx.avals_in[0].dtype):
            raise UnsupportedError(f"'{prim}' needs a floating-point operand")
        return _create(op_name, _out_type(ctx), [x])

    return rule


for _prim, _op in {
    "sin": "math.sin", "cos": "math.cos", "tan": "math.tan",
    "asin": "math.asin", "acos": "math.acos", "atan": "math.atan",
    "sinh": "math.sinh", "cosh": "math.cosh", "tanh": "math.tanh",
    "asinh": "math.asinh", "acosh": "math.acosh", "atanh": "math.atanh",
    "exp": "math.exp", "exp2": "math.exp2", "log": "math.log", "log1p": "math.log1p",
    "expm1": "math.expm1", "sqrt": "math.sqrt", "rsqrt": "math.rsqrt", "cbrt": "math.cbrt",
    "floor": "math.floor", "ceil": "math.ceil", "erf": "math.erf",
    "round": "math.roundeven",
}.items():
    _unary_float(_prim, _op)


@register("atan2")
def _atan2(ctx, y, x, **params):
    return _create("math.atan2", _out_type(ctx), _same_shape(ctx, [y, x]))


@register("pow")
def _pow(ctx, x, y, **params):
    _refuse_complex(ctx, "pow")
    return _create("math.powf", _out_type(ctx), _same_shape(ctx, [x, y]))


@register("neg")
def _neg(ctx, x):
    _refuse_complex(ctx, "neg")
    if types.is_float(ctx.avals_in[0].dtype):
        return _create("arith.negf", _out_type(ctx), [x])
    zero = b.full(ctx.avals_in[0].shape, b.ranked(x).element_type, 0)
    return _create("arith.subi", _out_type(ctx), [zero, x])


@register("abs")
def _abs(ctx, x):
    _refuse_complex(ctx, "abs")
    op = "math.absf" if types.is_float(ctx.avals_in[0].dtype) else "math.absi"
    return _create(op, _out_type(ctx), [x])


@register("sign")
def _sign(ctx, x, **params):
    _refuse_complex(ctx, "sign")
    aval = ctx.avals_in[0]
    elt = b.ranked(x).element_type
    is_f = types.is_float(aval.dtype)

    def body(v):
        zero = b.scalar_constant(elt, 0)
        if is_f:
            # copysign(1, x) is ±1; zero (and NaN compared unordered) stay as jnp.sign has them.
            signed = _create("math.copysign", elt, [b.scalar_constant(elt, 1.0), v])
            is_zero = arith.CmpFOp(arith.CmpFPredicate.OEQ, v, zero).result
            return arith.SelectOp(is_zero, zero, signed).result
        pos = arith.CmpIOp(arith.CmpIPredicate.sgt, v, zero).result
        neg = arith.CmpIOp(arith.CmpIPredicate.slt, v, zero).result
        minus = arith.SelectOp(neg, b.scalar_constant(elt, -1), zero).result
        return arith.SelectOp(pos, b.scalar_constant(elt, 1), minus).result

    return b.elementwise(_out_type(ctx), [x], body)


@register("logistic")
def _logistic(ctx, x, **params):
    # 1 / (1 + exp(-x))
    t = _out_type(ctx)
    one = b.full(ctx.avals_in[0].shape, b.ranked(x).element_type, 1.0)
    e = _create("math.exp", t, [_create("arith.negf", t, [x])])
    return _create("arith.divf", t, [one, _create("arith.addf", t, [one, e])])


@register("integer_pow")
def _integer_pow(ctx, x, *, y):
    _refuse_complex(ctx, "integer_pow")
    t = _out_type(ctx)
    is_f = types.is_float(ctx.avals_in[0].dtype)
    mul = "arith.mulf" if is_f else "arith.muli"
    elt = b.ranked(x).element_type
    result = None
    base, n = x, abs(y)
    while n:  # square-and-multiply: log2(y) multiplications
        if n & 1:
            result = base if result is None else _create(mul, t, [result, base])
        n >>= 1
        if n:
            base = _create(mul, t, [base, base])
    if result is None:
        result = b.full(ctx.avals_in[0].shape, elt, 1)
    if y < 0:
        if not is_f:
            raise UnsupportedError("negative integer powers of integers are not supported")
        result = _create("arith.divf", t, [b.full(ctx.avals_in[0].shape, elt, 1.0), result])
    return result


@register("square")
def _square(ctx, x):
    return _integer_pow(ctx, x, y=2)


@register("not")
def _not(ctx, x):
    # Booleans are 0/1 bytes: flip the low bit; integers: flip every bit.
    mask = 1 if types.is_bool(ctx.avals_in[0].dtype) else -1
    ones = b.full(ctx.avals_in[0].shape, b.ranked(x).element_type, mask)
    return _create("arith.xori", _out_type(ctx), [x, ones])


_FLOAT_PREDICATES = {"eq": "OEQ", "ne": "UNE", "lt": "OLT", "le": "OLE", "gt": "OGT", "ge": "OGE"}
_SIGNED_PREDICATES = {"eq": "eq", "ne": "ne", "lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge"}
_UNSIGNED_PREDICATES = {"eq": "eq", "ne": "ne", "lt": "ult", "le": "ule", "gt": "ugt", "ge": "uge"}


def _compare(dtype, prim, x, y) -> ir.Value:
    """A scalar comparison (i1), for use inside a linalg body."""
    if types.is_float(dtype):
        return arith.CmpFOp(getattr(arith.CmpFPredicate, _FLOAT_PREDICATES[prim]), x, y).result
    unsigned = types.is_unsigned(dtype) or types.is_bool(dtype)
    table = _UNSIGNED_PREDICATES if unsigned else _SIGNED_PREDICATES
    return arith.CmpIOp(getattr(arith.CmpIPredicate, table[prim]), x, y).result


def _to_byte(flag: ir.Value) -> ir.Value:
    return arith.ExtUIOp(ir.IntegerType.get_signless(8), flag).result


def _is_true(value: ir.Value) -> ir.Value:
    """i1 from a stored boolean/integer predicate (nonzero = true)."""
    zero = b.scalar_constant(value.type, 0)
    return arith.CmpIOp(arith.CmpIPredicate.ne, value, zero).result


def _comparison(prim):
    @register(prim)
    def rule(ctx, x, y):
        _refuse_complex(ctx, prim)
        dtype = ctx.avals_in[0].dtype
        # The i1 result never reaches memory: compare and widen to a byte in one loop body.
        return b.elementwise(
            _out_type(ctx), _same_shape(ctx, [x, y]), lambda u, v: _to_byte(_compare(dtype, prim, u, v))
        )

    return rule


for _prim in _FLOAT_PREDICATES:
    _comparison(_prim)


@register("select_n")
def _select_n(ctx, predicate, *cases):
    if len(cases) != 2:
        raise UnsupportedError("select_n with more than two cases is not supported yet")
    shape = ctx.avals_out[0].shape
    operands = [b.broadcast_to(predicate, shape)] + list(cases)
    # select_n picks cases[1] where the predicate is true.
    return b.elementwise(
        _out_type(ctx), operands, lambda p, c0, c1: arith.SelectOp(_is_true(p), c1, c0).result
    )


@register("convert_element_type")
def _convert_element_type(ctx, x, *, new_dtype, weak_type, sharding=None):
    src, dst = np.dtype(ctx.avals_in[0].dtype), np.dtype(new_dtype)
    t = _out_type(ctx)
    if src == dst:
        return x
    if types.is_complex(src) or types.is_complex(dst):
        raise UnsupportedError(f"conversion from {src} to {dst} is not supported yet")
    if types.is_bool(dst):
        zero_of = lambda v: b.scalar_constant(v.type, 0)  # noqa: E731
        if types.is_float(src):
            nonzero = lambda v: arith.CmpFOp(arith.CmpFPredicate.UNE, v, zero_of(v)).result  # noqa: E731
        else:
            nonzero = _is_true
        return b.elementwise(t, [x], lambda v: _to_byte(nonzero(v)))
    if types.is_float(src) and types.is_float(dst):
        op = "arith.extf" if dst.itemsize > src.itemsize else "arith.truncf"
    elif types.is_float(dst):
        op = "arith.uitofp" if (types.is_unsigned(src) or types.is_bool(src)) else "arith.sitofp"
    elif types.is_float(src):
        op = "arith.fptoui" if types.is_unsigned(dst) else "arith.fptosi"
    else:
        src_bits = 8 * src.itemsize  # booleans are stored as bytes
        if 8 * dst.itemsize == src_bits:
            return x  # same width, signedness lives in the ops, not in the type
        if 8 * dst.itemsize > src_bits:
            op = "arith.extui" if (types.is_unsigned(src) or types.is_bool(src)) else "arith.extsi"
        else:
            op = "arith.trunci"
    return _create(op, t, [x])
