"""Rules for elementwise primitives: arith/math ops applied to whole tensors.

``convert-elementwise-to-linalg`` later turns each tensor-level arith/math op into a
``linalg.generic``; keeping them as single ops here keeps the IR small. Ops that only exist on
scalars (the ``complex`` dialect, comparisons whose i1 must not reach memory, conversions with
several steps) are built as one ``linalg.generic`` body with ``builders.elementwise``.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith

from kvant.errors import UnsupportedError
from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.registry import register

_create = b.create


def _same_shape(ctx, operands):
    """JAX lets rank-0 literals and size-1 dimensions stand beside an array: broadcast every
    operand to the output shape."""
    shape = ctx.avals_out[0].shape
    return [b.broadcast_to(value, shape) for value in operands]


def _out_type(ctx):
    return types.tensor_type(ctx.avals_out[0])


def _dtype(ctx, i=0):
    return np.dtype(ctx.avals_in[i].dtype)


def _real_dtype(dtype):
    """The dtype of the parts of a complex dtype (float64 for complex128)."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.complex128 else np.dtype(np.float32)


def _unsupported_dtype(prim, dtype):
    return UnsupportedError(f"'{prim}' on {np.dtype(dtype)} arrays is not supported")


# -- scalar helpers, for linalg bodies ----------------------------------------------------------


def _to_byte(flag: ir.Value) -> ir.Value:
    """An i1 widened to kvant's i8 boolean (i1 never reaches a tensor, see types.element_type)."""
    return arith.ExtUIOp(ir.IntegerType.get_signless(8), flag).result


def _cmpf(predicate: str, x, y) -> ir.Value:
    return arith.CmpFOp(getattr(arith.CmpFPredicate, predicate), x, y).result


def _cmpi(predicate: str, x, y) -> ir.Value:
    return arith.CmpIOp(getattr(arith.CmpIPredicate, predicate), x, y).result


def _select(flag, if_true, if_false) -> ir.Value:
    return arith.SelectOp(flag, if_true, if_false).result


def _re(v) -> ir.Value:
    return _create("complex.re", ir.ComplexType(v.type).element_type, [v])


def _im(v) -> ir.Value:
    return _create("complex.im", ir.ComplexType(v.type).element_type, [v])


def _make_complex(elt, re, im) -> ir.Value:
    return _create("complex.create", elt, [re, im])


# -- binary arithmetic --------------------------------------------------------------------------

#: prim -> (float op, signed int op, unsigned/bool int op, complex op); None = not supported
_BINARY = {
    "add": ("arith.addf", "arith.addi", "arith.addi", "complex.add"),
    # the sum of cotangents in JAX's transposed (reverse-mode) code, e.g. of a jax.jacobian
    # traced into the program: an ordinary addition of arrays
    "add_any": ("arith.addf", "arith.addi", "arith.addi", "complex.add"),
    "sub": ("arith.subf", "arith.subi", "arith.subi", "complex.sub"),
    "mul": ("arith.mulf", "arith.muli", "arith.muli", "complex.mul"),
    "div": ("arith.divf", None, None, "complex.div"),  # integers: _integer_division
    "rem": ("arith.remf", None, None, None),
    # maximumf/minimumf propagate NaN, as XLA's max/min do
    "max": ("arith.maximumf", "arith.maxsi", "arith.maxui", None),
    "min": ("arith.minimumf", "arith.minsi", "arith.minui", None),
    "and": (None, "arith.andi", "arith.andi", None),
    "or": (None, "arith.ori", "arith.ori", None),
    "xor": (None, "arith.xori", "arith.xori", None),
    "atan2": ("math.atan2", None, None, None),
}


def _binary(prim, float_op, int_op, uint_op, complex_op):
    @register(prim)
    def rule(ctx, x, y, **params):
        dtype = _dtype(ctx)
        t = _out_type(ctx)
        operands = _same_shape(ctx, [x, y])
        if types.is_complex(dtype):
            if complex_op is None:
                raise _unsupported_dtype(prim, dtype)
            return b.elementwise(
                t, operands, lambda u, v: _create(complex_op, t.element_type, [u, v])
            )
        if prim in ("div", "rem") and not types.is_float(dtype):
            return b.elementwise(t, operands, lambda u, v: _integer_division(prim, dtype, u, v))
        op = (
            float_op
            if types.is_float(dtype)
            else (uint_op if types.is_unsigned(dtype) or types.is_bool(dtype) else int_op)
        )
        if op is None:
            raise _unsupported_dtype(prim, dtype)
        return _create(op, t, operands)

    return rule


for _prim, _ops in _BINARY.items():
    _binary(_prim, *_ops)


def _integer_division(prim, dtype, x, y):
    """XLA's integer ``div``/``rem``, which never trap: x/0 is -1 (all bits set) and x%0 is x;
    INT_MIN / -1 is INT_MIN and INT_MIN % -1 is 0. ``arith.divsi`` is undefined (a SIGFPE on
    x86) in those cases, so the divisor is replaced by 1 there and the result patched."""
    elt = x.type
    unsigned = types.is_unsigned(dtype) or types.is_bool(dtype)
    zero, one = b.scalar_constant(elt, 0), b.scalar_constant(elt, 1)
    by_zero = _cmpi("eq", y, zero)
    bad = by_zero
    overflow = None
    if not unsigned:
        int_min = b.scalar_constant(elt, np.iinfo(dtype).min)
        minus_one = b.scalar_constant(elt, -1)
        overflow = arith.AndIOp(_cmpi("eq", x, int_min), _cmpi("eq", y, minus_one)).result
        bad = arith.OrIOp(by_zero, overflow).result
    safe_y = _select(bad, one, y)
    if prim == "div":
        q = _create("arith.divui" if unsigned else "arith.divsi", elt, [x, safe_y])
        if overflow is not None:
            q = _select(overflow, x, q)  # INT_MIN / -1 wraps to INT_MIN (= x)
        return _select(by_zero, b.scalar_constant(elt, -1), q)
    r = _create("arith.remui" if unsigned else "arith.remsi", elt, [x, safe_y])
    if overflow is not None:
        r = _select(overflow, zero, r)
    return _select(by_zero, x, r)


def _shift(prim, op):
    @register(prim)
    def rule(ctx, x, y):
        """StableHLO's shifts: an amount (read as unsigned) of the bit width or more shifts
        everything out (-1 for a negative x shifted arithmetically), where LLVM would give
        poison."""
        dtype = _dtype(ctx)
        if not (types.is_float(dtype) or types.is_complex(dtype) or types.is_bool(dtype)):
            bits = 8 * dtype.itemsize

            def body(u, v):
                too_far = _cmpi("uge", v, b.scalar_constant(v.type, bits))
                if prim == "shift_right_arithmetic":
                    v = _select(too_far, b.scalar_constant(v.type, bits - 1), v)
                    return _create(op, u.type, [u, v])
                shifted = _create(
                    op, u.type, [u, _select(too_far, b.scalar_constant(v.type, 0), v)]
                )
                return _select(too_far, b.scalar_constant(u.type, 0), shifted)

            return b.elementwise(_out_type(ctx), _same_shape(ctx, [x, y]), body)
        raise _unsupported_dtype(prim, dtype)

    return rule


_shift("shift_left", "arith.shli")
_shift("shift_right_arithmetic", "arith.shrsi")
_shift("shift_right_logical", "arith.shrui")


@register("pow")
def _pow(ctx, x, y):
    """``x ** y`` for float/complex ``x``; an integer ``y`` is converted to ``x``'s dtype first,
    as XLA does (libm's pow gives exact results for integral exponents of negative bases)."""
    xd, yd = _dtype(ctx, 0), _dtype(ctx, 1)
    t = _out_type(ctx)
    op = "complex.pow" if types.is_complex(xd) else "math.powf"

    def body(u, v):
        return _create(op, t.element_type, [u, _convert_scalar(v, yd, xd)])

    return b.elementwise(t, _same_shape(ctx, [x, y]), body)


# -- unary math ---------------------------------------------------------------------------------

#: prim -> (op on float tensors, op on complex scalars or None)
_UNARY = {
    "sin": ("math.sin", "complex.sin"),
    "cos": ("math.cos", "complex.cos"),
    "tan": ("math.tan", "complex.tan"),
    "asin": ("math.asin", None),
    "acos": ("math.acos", None),
    "atan": ("math.atan", None),
    "sinh": ("math.sinh", None),
    "cosh": ("math.cosh", None),
    "tanh": ("math.tanh", "complex.tanh"),
    "asinh": ("math.asinh", None),
    "acosh": ("math.acosh", None),
    "atanh": ("math.atanh", None),
    "exp": ("math.exp", "complex.exp"),
    "exp2": ("math.exp2", None),
    "log": ("math.log", "complex.log"),
    "log1p": ("math.log1p", "complex.log1p"),
    "expm1": ("math.expm1", "complex.expm1"),
    "sqrt": ("math.sqrt", "complex.sqrt"),
    "rsqrt": ("math.rsqrt", "complex.rsqrt"),
    "cbrt": ("math.cbrt", None),
    "floor": ("math.floor", None),
    "ceil": ("math.ceil", None),
    "erf": ("math.erf", None),
    "erfc": ("math.erfc", None),
}


def _unary(prim, float_op, complex_op):
    @register(prim)
    def rule(ctx, x, **params):  # params: `accuracy` (a hint kvant ignores)
        dtype = _dtype(ctx)
        t = _out_type(ctx)
        if types.is_complex(dtype) and complex_op is not None:
            return b.elementwise(t, [x], lambda v: _create(complex_op, t.element_type, [v]))
        if not types.is_float(dtype):
            raise _unsupported_dtype(prim, dtype)
        return _create(float_op, t, [x])

    return rule


for _prim, _ops in _UNARY.items():
    _unary(_prim, *_ops)


@register("round")
def _round(ctx, x, *, rounding_method):
    # lax.RoundingMethod: 0 = half away from zero (lax.round's default), 1 = half to even
    # (jnp.round).
    op = "math.round" if int(rounding_method) == 0 else "math.roundeven"
    if not types.is_float(_dtype(ctx)):
        raise _unsupported_dtype("round", _dtype(ctx))
    return _create(op, _out_type(ctx), [x])


@register("neg")
def _neg(ctx, x):
    dtype, t = _dtype(ctx), _out_type(ctx)
    if types.is_complex(dtype):
        return b.elementwise(t, [x], lambda v: _create("complex.neg", t.element_type, [v]))
    if types.is_float(dtype):
        return _create("arith.negf", t, [x])
    zero = b.full(ctx.avals_in[0].shape, b.ranked(x).element_type, 0)
    return _create("arith.subi", t, [zero, x])


@register("abs")
def _abs(ctx, x):
    dtype, t = _dtype(ctx), _out_type(ctx)
    if types.is_complex(dtype):  # |z| is real
        return b.elementwise(t, [x], lambda v: _create("complex.abs", t.element_type, [v]))
    return _create("math.absf" if types.is_float(dtype) else "math.absi", t, [x])


@register("sign")
def _sign(ctx, x, **params):
    dtype, t = _dtype(ctx), _out_type(ctx)
    elt = t.element_type

    def body(v):
        zero = b.scalar_constant(elt, 0)
        if types.is_complex(dtype):
            return _create("complex.sign", elt, [v])  # z / |z|, and 0 at 0
        if types.is_float(dtype):
            # copysign(1, x) is ±1; ±0 stays itself and NaN stays NaN (x != x), as in XLA:
            # x * 0 keeps both, and keeps the derivative zero there too (JAX's sign has none).
            signed = _create("math.copysign", elt, [b.scalar_constant(elt, 1.0), v])
            keep = _cmpf("UEQ", v, zero)  # zero or unordered (NaN)
            return _select(keep, _create("arith.mulf", elt, [v, zero]), signed)
        if types.is_unsigned(dtype) or types.is_bool(dtype):
            return arith.ExtUIOp(elt, _cmpi("ne", v, zero)).result
        minus = _select(_cmpi("slt", v, zero), b.scalar_constant(elt, -1), zero)
        return _select(_cmpi("sgt", v, zero), b.scalar_constant(elt, 1), minus)

    return b.elementwise(t, [x], body)


@register("logistic")
def _logistic(ctx, x, **params):
    # 1 / (1 + exp(-x)): exp overflows to inf for very negative x, giving the right limit 0.
    if not types.is_float(_dtype(ctx)):
        raise _unsupported_dtype("logistic", _dtype(ctx))
    t = _out_type(ctx)
    one = b.full(ctx.avals_in[0].shape, b.ranked(x).element_type, 1.0)
    e = _create("math.exp", t, [_create("arith.negf", t, [x])])
    return _create("arith.divf", t, [one, _create("arith.addf", t, [one, e])])


def _scalar_mul(dtype):
    if types.is_complex(dtype):
        return "complex.mul"
    return "arith.mulf" if types.is_float(dtype) else "arith.muli"


@register("integer_pow")
def _integer_pow(ctx, x, *, y):
    """``x ** y`` for a Python int ``y``: square-and-multiply (log2(y) multiplications) in one
    loop body, like JAX's own expansion of integer_pow."""
    dtype, t = _dtype(ctx), _out_type(ctx)
    elt = t.element_type
    mul = _scalar_mul(dtype)
    if y < 0 and not (types.is_float(dtype) or types.is_complex(dtype)):
        raise UnsupportedError("negative integer powers of integers are not supported")

    def body(v):
        result, base, n = None, v, abs(y)
        while n:
            if n & 1:
                result = base if result is None else _create(mul, elt, [result, base])
            n >>= 1
            if n:
                base = _create(mul, elt, [base, base])
        if result is None:
            return b.scalar_constant(elt, 1)
        if y < 0:
            div = "complex.div" if types.is_complex(dtype) else "arith.divf"
            result = _create(div, elt, [b.scalar_constant(elt, 1), result])
        return result

    return b.elementwise(t, [x], body)


@register("square")
def _square(ctx, x, **params):
    return _integer_pow(ctx, x, y=2)


@register("not")
def _not(ctx, x):
    # Booleans are 0/1 bytes: flip the low bit; integers: flip every bit.
    mask = 1 if types.is_bool(_dtype(ctx)) else -1
    ones = b.full(ctx.avals_in[0].shape, b.ranked(x).element_type, mask)
    return _create("arith.xori", _out_type(ctx), [x, ones])


@register("is_finite")
def _is_finite(ctx, x):
    # |x| < inf is false for ±inf and (compared ordered) for NaN.
    elt = b.ranked(x).element_type
    inf = b.scalar_constant(elt, np.inf)
    return b.elementwise(
        _out_type(ctx), [x], lambda v: _to_byte(_cmpf("OLT", _create("math.absf", elt, [v]), inf))
    )


# Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011): the single-precision
# polynomials in w = -log(1 - x^2), around w = 2.5 for the centre and sqrt(w) = 3 for the tails.
_ERFINV_CENTRE = [
    2.81022636e-08,
    3.43273939e-07,
    -3.5233877e-06,
    -4.39150654e-06,
    0.00021858087,
    -0.00125372503,
    -0.00417768164,
    0.246640727,
    1.50140941,
]
_ERFINV_TAIL = [
    -0.000200214257,
    0.000100950558,
    0.00134934322,
    -0.00367342844,
    0.00573950773,
    -0.0076224613,
    0.00943887047,
    1.00167406,
    2.83297682,
]


@register("erf_inv")
def _erf_inv(ctx, x):
    """erf⁻¹ by Giles' polynomial (single-precision accurate for |x| < 1 - 1e-7); float64 adds
    four Newton steps, each doubling the number of correct digits (the polynomial is off by up
    to ~1e-2 relative as |x| → 1 - 1e-16). erf⁻¹(±1) = ±inf; |x| > 1 is NaN
    (the logarithm of a negative number)."""
    dtype, t = _dtype(ctx), _out_type(ctx)
    if not types.is_float(dtype):
        raise _unsupported_dtype("erf_inv", dtype)
    elt = t.element_type

    def const(c):
        return b.scalar_constant(elt, c)

    def f(name, *args):
        return _create(name, elt, list(args))

    def polynomial(coefficients, w):
        p = const(coefficients[0])
        for c in coefficients[1:]:
            p = f("arith.addf", const(c), f("arith.mulf", p, w))
        return p

    def body(v):
        one = const(1.0)
        w = f(
            "arith.negf",
            f("math.log", f("arith.mulf", f("arith.subf", one, v), f("arith.addf", one, v))),
        )
        centre = polynomial(_ERFINV_CENTRE, f("arith.subf", w, const(2.5)))
        tail = polynomial(_ERFINV_TAIL, f("arith.subf", f("math.sqrt", w), const(3.0)))
        r = f("arith.mulf", _select(_cmpf("OLT", w, const(5.0)), centre, tail), v)
        if np.dtype(dtype) == np.float64:
            # Newton on a = |x| (erf⁻¹ is odd), erf'(r) = 2/√π exp(-r²). For a < 1/2 on
            # erf(r) = a; above, on log(erfc(r)) = log(1 - a): 1 - a is exact there, erfc keeps
            # the digits that erf(r) - a would cancel away, and the logarithm is nearly
            # quadratic in r, so Newton converges from the polynomial's far-tail guess too.
            a = f("math.absf", v)
            r = f("math.absf", r)
            near_one = _cmpf("OGE", a, const(0.5))
            log_tail = f("math.log1p", f("arith.negf", a))
            half_sqrt_pi = const(np.sqrt(np.pi) / 2)
            for _ in range(4):
                inv_slope = f("arith.mulf", half_sqrt_pi, f("math.exp", f("arith.mulf", r, r)))
                erfc = f("math.erfc", r)
                tail_step = f("arith.mulf", f("arith.subf", f("math.log", erfc), log_tail), erfc)
                centre_step = f("arith.subf", a, f("math.erf", r))
                r = f(
                    "arith.addf",
                    r,
                    f("arith.mulf", _select(near_one, tail_step, centre_step), inv_slope),
                )
            r = f("math.copysign", r, v)
        at_one = _cmpf("OEQ", f("math.absf", v), one)
        return _select(at_one, f("math.copysign", const(np.inf), v), r)

    return b.elementwise(t, [x], body)


# -- complex numbers ----------------------------------------------------------------------------


@register("real")
def _real(ctx, x):
    t = _out_type(ctx)
    return b.elementwise(t, [x], _re)


@register("imag")
def _imag(ctx, x):
    t = _out_type(ctx)
    return b.elementwise(t, [x], _im)


@register("complex")
def _complex(ctx, x, y):
    t = _out_type(ctx)
    return b.elementwise(
        t, _same_shape(ctx, [x, y]), lambda re, im: _make_complex(t.element_type, re, im)
    )


@register("conj")
def _conj(ctx, x, *, input_dtype=None):
    t = _out_type(ctx)
    src, dst = _dtype(ctx), np.dtype(ctx.avals_out[0].dtype)
    if not types.is_complex(src):  # lax.conj of a real array is that array, made complex
        return b.elementwise(t, [x], lambda v: _convert_scalar(v, src, dst))
    return b.elementwise(t, [x], lambda v: _create("complex.conj", t.element_type, [v]))


# -- comparisons and selection ------------------------------------------------------------------

_FLOAT_PREDICATES = {"eq": "OEQ", "ne": "UNE", "lt": "OLT", "le": "OLE", "gt": "OGT", "ge": "OGE"}
_SIGNED_PREDICATES = {"eq": "eq", "ne": "ne", "lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge"}
_UNSIGNED_PREDICATES = {"eq": "eq", "ne": "ne", "lt": "ult", "le": "ule", "gt": "ugt", "ge": "uge"}


def _compare(dtype, prim, x, y) -> ir.Value:
    """A scalar comparison (i1), for use inside a linalg body."""
    if types.is_complex(dtype):
        if prim not in ("eq", "ne"):
            raise _unsupported_dtype(prim, dtype)
        return _create(
            "complex.eq" if prim == "eq" else "complex.neq", ir.IntegerType.get_signless(1), [x, y]
        )
    if types.is_float(dtype):
        return _cmpf(_FLOAT_PREDICATES[prim], x, y)
    unsigned = types.is_unsigned(dtype) or types.is_bool(dtype)
    table = _UNSIGNED_PREDICATES if unsigned else _SIGNED_PREDICATES
    return _cmpi(table[prim], x, y)


def _comparison(prim):
    @register(prim)
    def rule(ctx, x, y):
        dtype = _dtype(ctx)
        # The i1 result never reaches memory: compare and widen to a byte in one loop body.
        return b.elementwise(
            _out_type(ctx),
            _same_shape(ctx, [x, y]),
            lambda u, v: _to_byte(_compare(dtype, prim, u, v)),
        )

    return rule


for _prim in _FLOAT_PREDICATES:
    _comparison(_prim)


def total_order_key(v: ir.Value, dtype) -> ir.Value:
    """An integer with the order of XLA's TOTALORDER comparison of ``v``: for floats,
    -NaN < -inf < ... < -0.0 < +0.0 < ... < +inf < +NaN. The float's bits read as a signed
    integer already order the non-negative floats; flipping the magnitude bits of the negative
    ones reverses their order."""
    if not types.is_float(dtype):
        return v
    bits = 8 * np.dtype(dtype).itemsize
    int_type = ir.IntegerType.get_signless(bits)
    i = arith.BitcastOp(int_type, v).result
    sign = arith.ShRSIOp(i, b.scalar_constant(int_type, bits - 1)).result  # 0 or -1
    magnitude = arith.AndIOp(sign, b.scalar_constant(int_type, 2 ** (bits - 1) - 1)).result
    return arith.XOrIOp(i, magnitude).result


def _total_order_comparison(prim, predicate):
    @register(prim)
    def rule(ctx, x, y):
        """``lax.lt_to`` and friends (``jnp.searchsorted``, ``jnp.interp``): comparisons in
        XLA's total order, where NaN compares too."""
        dtype = _dtype(ctx)
        if types.is_complex(dtype):
            raise _unsupported_dtype(prim, dtype)
        if not types.is_float(dtype) and (types.is_unsigned(dtype) or types.is_bool(dtype)):
            pred = {"slt": "ult", "sle": "ule"}.get(predicate, predicate)
        else:
            pred = predicate

        def body(u, v):
            return _to_byte(_cmpi(pred, total_order_key(u, dtype), total_order_key(v, dtype)))

        return b.elementwise(_out_type(ctx), _same_shape(ctx, [x, y]), body)

    return rule


_total_order_comparison("eq_to", "eq")
_total_order_comparison("lt_to", "slt")
_total_order_comparison("le_to", "sle")


@register("select_n")
def _select_n(ctx, predicate, *cases):
    """``cases[predicate]``: a boolean predicate picks between two cases, an int32 one among
    any number (out-of-range predicates are undefined in JAX; here they give the last case)."""
    if len(cases) == 1:
        return cases[0]
    is_bool = types.is_bool(_dtype(ctx))
    operands = _same_shape(ctx, [predicate, *cases])

    def body(p, *values):
        if is_bool:
            return _select(b.is_nonzero(p), values[1], values[0])
        result = values[-1]
        for k in range(len(values) - 2, -1, -1):
            result = _select(_cmpi("eq", p, b.scalar_constant(p.type, k)), values[k], result)
        return result

    return b.elementwise(_out_type(ctx), operands, body)


@register("clamp")
def _clamp(ctx, low, x, high):
    """min(max(x, low), high); NaN propagates as through XLA's clamp."""
    dtype = np.dtype(ctx.avals_in[1].dtype)
    if types.is_complex(dtype):
        raise _unsupported_dtype("clamp", dtype)
    if types.is_float(dtype):
        mx, mn = "arith.maximumf", "arith.minimumf"
    elif types.is_unsigned(dtype) or types.is_bool(dtype):
        mx, mn = "arith.maxui", "arith.minui"
    else:
        mx, mn = "arith.maxsi", "arith.minsi"
    t = _out_type(ctx)
    low, x, high = _same_shape(ctx, [low, x, high])
    return _create(mn, t, [_create(mx, t, [x, low]), high])


# -- conversions --------------------------------------------------------------------------------


def _float_to_int(v, dst) -> ir.Value:
    """XLA's saturating float → integer conversion: NaN → 0, out of range → the nearest
    representable bound (``arith.fpto[su]i`` alone is poison there)."""
    elt = types.element_type(dst)
    bits = 8 * dst.itemsize
    unsigned = types.is_unsigned(dst)
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    # the bounds as floats: -2^(n-1) and 2^(n-1) (or 2^n) are exact in every float type
    low_f = b.scalar_constant(v.type, float(low))
    above_f = b.scalar_constant(v.type, float(high + 1))
    converted = _create("arith.fptoui" if unsigned else "arith.fptosi", elt, [v])
    result = _select(_cmpf("OLT", v, low_f), b.scalar_constant(elt, low), converted)
    result = _select(_cmpf("OGE", v, above_f), b.scalar_constant(elt, high), result)
    return _select(_cmpf("UNO", v, v), b.scalar_constant(elt, 0), result)


def _convert_scalar(v: ir.Value, src, dst) -> ir.Value:
    """One element converted from dtype ``src`` to ``dst`` with XLA's semantics (complex →
    real keeps the real part, like JAX)."""
    src, dst = np.dtype(src), np.dtype(dst)
    if src == dst:
        return v
    dst_elt = types.element_type(dst)
    if types.is_complex(src):
        if types.is_complex(dst):
            parts = [
                _convert_scalar(p, _real_dtype(src), _real_dtype(dst)) for p in (_re(v), _im(v))
            ]
            return _make_complex(dst_elt, *parts)
        if types.is_bool(dst):
            zero = b.scalar_constant(_re(v).type, 0)
            return _to_byte(
                arith.OrIOp(_cmpf("UNE", _re(v), zero), _cmpf("UNE", _im(v), zero)).result
            )
        return _convert_scalar(_re(v), _real_dtype(src), dst)
    if types.is_complex(dst):
        part = _real_dtype(dst)
        zero = b.scalar_constant(types.element_type(part), 0)
        return _make_complex(dst_elt, _convert_scalar(v, src, part), zero)
    if types.is_bool(dst):
        zero = b.scalar_constant(v.type, 0)
        return _to_byte(_cmpf("UNE", v, zero) if types.is_float(src) else _cmpi("ne", v, zero))
    if types.is_float(src) and types.is_float(dst):
        return _create(
            "arith.extf" if dst.itemsize > src.itemsize else "arith.truncf", dst_elt, [v]
        )
    if types.is_float(dst):
        unsigned = types.is_unsigned(src) or types.is_bool(src)
        return _create("arith.uitofp" if unsigned else "arith.sitofp", dst_elt, [v])
    if types.is_float(src):
        return _float_to_int(v, dst)
    src_bits, dst_bits = 8 * src.itemsize, 8 * dst.itemsize  # booleans are stored as bytes
    if dst_bits == src_bits:
        return v  # same width: signedness lives in the ops, not in the type
    if dst_bits > src_bits:
        unsigned = types.is_unsigned(src) or types.is_bool(src)
        return _create("arith.extui" if unsigned else "arith.extsi", dst_elt, [v])
    return _create("arith.trunci", dst_elt, [v])


@register("convert_element_type")
def _convert_element_type(ctx, x, *, new_dtype, weak_type=False, sharding=None):
    src, dst = _dtype(ctx), np.dtype(new_dtype)
    if src == dst:
        return x
    return b.elementwise(_out_type(ctx), [x], lambda v: _convert_scalar(v, src, dst))


@register("bitcast_convert_type")
def _bitcast_convert_type(ctx, x, *, new_dtype):
    """Reinterprets the bits of each element (``jnp.signbit``, ``jnp.frexp``, byte views).

    Between widths the shape changes as in XLA: a wide element becomes a new last axis of
    narrow ones, and a last axis of narrow ones becomes one wide element, in the byte order of
    the machine (little-endian here, as on the hosts JAX runs on: part 0 holds the low bits)."""
    src, dst = _dtype(ctx), np.dtype(new_dtype)
    if types.is_complex(src) or types.is_complex(dst) or types.is_bool(src) or types.is_bool(dst):
        raise UnsupportedError(
            f"bitcast_convert_type from {src} to {dst} is not supported{ctx.where}"
        )
    if src == dst:
        return x
    if src.itemsize != dst.itemsize:
        return ctx.inline(lambda v: _resize_bits(v, src, dst), [x])
    t = _out_type(ctx)
    return b.elementwise(t, [x], lambda v: arith.BitcastOp(t.element_type, v).result)


def _resize_bits(x, src, dst):
    """A width-changing bitcast as shifts and masks of unsigned integers (JAX code; its
    bitcasts keep the width)."""
    from jax import lax

    src_bits, dst_bits = 8 * src.itemsize, 8 * dst.itemsize
    src_u, dst_u = np.dtype(f"uint{src_bits}"), np.dtype(f"uint{dst_bits}")
    bits = lax.bitcast_convert_type(x, src_u) if src != src_u else x
    if src_bits > dst_bits:  # each element splits into a last axis of src_bits / dst_bits parts
        ratio = src_bits // dst_bits
        shifts = np.arange(ratio, dtype=src_u) * src_u.type(dst_bits)
        parts = lax.shift_right_logical(
            lax.broadcast_in_dim(bits, (*bits.shape, ratio), tuple(range(bits.ndim))),
            lax.broadcast_in_dim(shifts, (*bits.shape, ratio), (bits.ndim,)),
        )
        out = lax.convert_element_type(parts, dst_u)  # keeps the low dst_bits of each
    else:  # the last axis (of dst_bits / src_bits parts) joins into one element
        ratio = dst_bits // src_bits
        wide = lax.convert_element_type(bits, dst_u)
        out = None
        for k in range(ratio):
            part = lax.shift_left(
                lax.index_in_dim(wide, k, axis=bits.ndim - 1, keepdims=False),
                dst_u.type(k * src_bits),
            )
            out = part if out is None else lax.bitwise_or(out, part)
    return lax.bitcast_convert_type(out, dst) if dst != dst_u else out


@register("population_count")
def _population_count(ctx, x):
    return _create("math.ctpop", _out_type(ctx), [x])


@register("clz")
def _clz(ctx, x):
    return _create("math.ctlz", _out_type(ctx), [x])
