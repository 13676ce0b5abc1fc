//===- ScalarRules.cpp - derivative rules of elementwise arith and math ops -----------===//
//
// Each rule is the op's derivative written on scalars (ReverseMode.h says how it is applied to
// tensors). Where a derivative is undefined at a point, the value JAX's rule gives there is
// used (noted per rule), so compiled gradients match jax.grad.
//
// Complex ops follow the convention of ReverseMode.h: the cotangent of z = x + iy is
// ∂L/∂x + i ∂L/∂y, so a holomorphic w = f(z) passes back w̄ · conj(f'(z)).
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/AutoDiff/ReverseMode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace kvant::gradient;

namespace {

/// Scalar arithmetic on one builder and location, to keep the formulas readable.
struct Scalars {
  OpBuilder &b;
  Location loc;
  Type type;

  Value c(double v) { return constantOf(b, loc, type, v); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value neg(Value x) { return arith::NegFOp::create(b, loc, x); }
  Value sqrt(Value x) { return math::SqrtOp::create(b, loc, x); }
  Value exp(Value x) { return math::ExpOp::create(b, loc, x); }
  Value log(Value x) { return math::LogOp::create(b, loc, x); }
  Value sin(Value x) { return math::SinOp::create(b, loc, x); }
  Value cos(Value x) { return math::CosOp::create(b, loc, x); }
  Value cmp(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, p, x, y);
  }
  Value select(Value cond, Value x, Value y) { return arith::SelectOp::create(b, loc, cond, x, y); }
  /// -1, 0 or 1 (0 at 0, like jnp.sign).
  Value sign(Value x) {
    Value zero = c(0.0);
    return select(cmp(arith::CmpFPredicate::OGT, x, zero), c(1.0),
                  select(cmp(arith::CmpFPredicate::OLT, x, zero), c(-1.0), zero));
  }
};

#define KVANT_SCALAR_RULE(NAME)                                                                    \
  void NAME(OpBuilder &b, Location loc, ValueRange x, Value r, Value ct, MutableArrayRef<Value> d)

// ---- arith -----------------------------------------------------------------------------------

KVANT_SCALAR_RULE(addRule) {
  (void)b, (void)loc, (void)x, (void)r;
  d[0] = ct;
  d[1] = ct;
}
KVANT_SCALAR_RULE(subRule) {
  (void)x, (void)r;
  d[0] = ct;
  d[1] = Scalars{b, loc, ct.getType()}.neg(ct);
}
KVANT_SCALAR_RULE(mulRule) {
  (void)r;
  Scalars s{b, loc, ct.getType()};
  d[0] = s.mul(ct, x[1]);
  d[1] = s.mul(ct, x[0]);
}
KVANT_SCALAR_RULE(divRule) {
  Scalars s{b, loc, ct.getType()};
  d[0] = s.div(ct, x[1]);
  d[1] = s.neg(s.div(s.mul(ct, r), x[1])); // -ct * a / b^2 = -ct * r / b
}
KVANT_SCALAR_RULE(negRule) {
  (void)x, (void)r;
  d[0] = Scalars{b, loc, ct.getType()}.neg(ct);
}
KVANT_SCALAR_RULE(remRule) { // a - b * trunc(a / b)
  (void)r;
  Scalars s{b, loc, ct.getType()};
  d[0] = ct;
  d[1] = s.neg(s.mul(ct, math::TruncOp::create(b, loc, s.div(x[0], x[1]))));
}
/// max/min: the whole cotangent to the chosen operand, half to each on a tie (as lax.max).
void chooser(OpBuilder &b, Location loc, ValueRange x, Value ct, MutableArrayRef<Value> d,
             arith::CmpFPredicate firstWins) {
  Scalars s{b, loc, ct.getType()};
  Value share =
      s.select(s.cmp(firstWins, x[0], x[1]), s.c(1.0),
               s.select(s.cmp(arith::CmpFPredicate::OEQ, x[0], x[1]), s.c(0.5), s.c(0.0)));
  d[0] = s.mul(ct, share);
  d[1] = s.mul(ct, s.sub(s.c(1.0), share));
}
KVANT_SCALAR_RULE(maxRule) {
  (void)r;
  chooser(b, loc, x, ct, d, arith::CmpFPredicate::OGT);
}
KVANT_SCALAR_RULE(minRule) {
  (void)r;
  chooser(b, loc, x, ct, d, arith::CmpFPredicate::OLT);
}
KVANT_SCALAR_RULE(selectRule) {
  (void)r;
  Scalars s{b, loc, ct.getType()};
  Value zero = s.c(0.0);
  d[1] = s.select(x[0], ct, zero);
  d[2] = s.select(x[0], zero, ct);
}
KVANT_SCALAR_RULE(extfRule) {
  (void)r;
  d[0] = arith::TruncFOp::create(b, loc, x[0].getType(), ct);
}
KVANT_SCALAR_RULE(truncfRule) {
  (void)r;
  d[0] = arith::ExtFOp::create(b, loc, x[0].getType(), ct);
}

// ---- math ------------------------------------------------------------------------------------

/// Rules of the form d = ct * f'(x, r).
#define KVANT_UNARY_RULE(NAME, DERIVATIVE)                                                         \
  KVANT_SCALAR_RULE(NAME) {                                                                        \
    Scalars s{b, loc, ct.getType()};                                                               \
    Value a = x[0];                                                                                \
    (void)a, (void)r;                                                                              \
    d[0] = s.mul(ct, DERIVATIVE);                                                                  \
  }

KVANT_UNARY_RULE(sinRule, s.cos(a))
KVANT_UNARY_RULE(cosRule, s.neg(s.sin(a)))
KVANT_UNARY_RULE(tanRule, s.add(s.c(1.0), s.mul(r, r)))
KVANT_UNARY_RULE(asinRule, s.div(s.c(1.0), s.sqrt(s.sub(s.c(1.0), s.mul(a, a)))))
KVANT_UNARY_RULE(acosRule, s.neg(s.div(s.c(1.0), s.sqrt(s.sub(s.c(1.0), s.mul(a, a))))))
KVANT_UNARY_RULE(atanRule, s.div(s.c(1.0), s.add(s.c(1.0), s.mul(a, a))))
KVANT_UNARY_RULE(sinhRule, math::CoshOp::create(b, loc, a))
KVANT_UNARY_RULE(coshRule, math::SinhOp::create(b, loc, a))
KVANT_UNARY_RULE(tanhRule, s.sub(s.c(1.0), s.mul(r, r)))
KVANT_UNARY_RULE(asinhRule, s.div(s.c(1.0), s.sqrt(s.add(s.mul(a, a), s.c(1.0)))))
// 1 / (sqrt(x - 1) sqrt(x + 1)), JAX's form
KVANT_UNARY_RULE(acoshRule,
                 s.div(s.c(1.0), s.mul(s.sqrt(s.sub(a, s.c(1.0))), s.sqrt(s.add(a, s.c(1.0))))))
KVANT_UNARY_RULE(atanhRule, s.div(s.c(1.0), s.sub(s.c(1.0), s.mul(a, a))))
KVANT_UNARY_RULE(expRule, r)
KVANT_UNARY_RULE(exp2Rule, s.mul(r, s.c(std::log(2.0))))
KVANT_UNARY_RULE(expm1Rule, s.add(r, s.c(1.0)))
KVANT_UNARY_RULE(logRule, s.div(s.c(1.0), a))
KVANT_UNARY_RULE(log2Rule, s.div(s.c(1.0 / std::log(2.0)), a))
KVANT_UNARY_RULE(log10Rule, s.div(s.c(1.0 / std::log(10.0)), a))
KVANT_UNARY_RULE(log1pRule, s.div(s.c(1.0), s.add(s.c(1.0), a)))
KVANT_UNARY_RULE(sqrtRule, s.div(s.c(0.5), r))
KVANT_UNARY_RULE(rsqrtRule, s.div(s.mul(s.c(-0.5), r), a))
KVANT_UNARY_RULE(cbrtRule, s.div(r, s.mul(s.c(3.0), a)))
KVANT_UNARY_RULE(absRule, s.sign(a)) // 0 at 0, like JAX
// 2/sqrt(pi) exp(-x^2)
KVANT_UNARY_RULE(erfRule, s.mul(s.c(2.0 / std::sqrt(M_PI)), s.exp(s.neg(s.mul(a, a)))))
KVANT_UNARY_RULE(erfcRule, s.mul(s.c(-2.0 / std::sqrt(M_PI)), s.exp(s.neg(s.mul(a, a)))))

/// Piecewise-constant ops (floor, ceil, round, sign, ...): zero derivative, like JAX.
KVANT_SCALAR_RULE(zeroRule) { (void)b, (void)loc, (void)x, (void)r, (void)ct, (void)d; }

KVANT_SCALAR_RULE(atan2Rule) { // atan2(y, x)
  (void)r;
  Scalars s{b, loc, ct.getType()};
  Value norm = s.add(s.mul(x[0], x[0]), s.mul(x[1], x[1]));
  d[0] = s.mul(ct, s.div(x[1], norm));
  d[1] = s.mul(ct, s.neg(s.div(x[0], norm)));
}
KVANT_SCALAR_RULE(powRule) { // a^p
  Scalars s{b, loc, ct.getType()};
  Value a = x[0], p = x[1], zero = s.c(0.0);
  // d/da = p a^(p-1), taken as 0 where p = 0 (JAX); d/dp = log(a) a^p, with log(0) read as 0.
  Value dA = s.mul(p, math::PowFOp::create(b, loc, a, s.sub(p, s.c(1.0))));
  d[0] = s.mul(ct, s.select(s.cmp(arith::CmpFPredicate::OEQ, p, zero), zero, dA));
  Value safeA = s.select(s.cmp(arith::CmpFPredicate::OEQ, a, zero), s.c(1.0), a);
  d[1] = s.mul(ct, s.mul(s.log(safeA), r));
}
KVANT_SCALAR_RULE(fpowiRule) { // a^n, integer n
  (void)r;
  Scalars s{b, loc, ct.getType()};
  Value n = x[1];
  Value nMinusOne = arith::SubIOp::create(
      b, loc, n, arith::ConstantOp::create(b, loc, IntegerAttr::get(n.getType(), 1)));
  Value nAsFloat = arith::SIToFPOp::create(b, loc, ct.getType(), n);
  d[0] = s.mul(ct, s.mul(nAsFloat, math::FPowIOp::create(b, loc, x[0], nMinusOne)));
}
KVANT_SCALAR_RULE(copysignRule) { // |a| sign(b): d/da = sign(a) sign(b)
  (void)r;
  Scalars s{b, loc, ct.getType()};
  d[0] = s.mul(ct, s.mul(s.sign(x[0]), math::CopySignOp::create(b, loc, s.c(1.0), x[1])));
}

// ---- complex ------------------------------------------------------------------------------------

/// Complex scalar arithmetic on one builder and location; `type` is the complex type.
struct Complexes {
  OpBuilder &b;
  Location loc;
  ComplexType type;

  Complexes(OpBuilder &b, Location loc, Type type)
      : b(b), loc(loc), type(cast<ComplexType>(type)) {}

  Type part() { return type.getElementType(); }
  Value c(double v) { return constantOf(b, loc, type, v); }
  Value real(double v) { return constantOf(b, loc, part(), v); }
  Value add(Value x, Value y) { return complex::AddOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return complex::SubOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return complex::MulOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return complex::DivOp::create(b, loc, x, y); }
  Value neg(Value x) { return complex::NegOp::create(b, loc, x); }
  Value conj(Value x) { return complex::ConjOp::create(b, loc, x); }
  Value re(Value x) { return complex::ReOp::create(b, loc, x); }
  Value im(Value x) { return complex::ImOp::create(b, loc, x); }
  Value make(Value re, Value im) { return complex::CreateOp::create(b, loc, type, re, im); }
  Value isZero(Value x) { return complex::EqualOp::create(b, loc, x, c(0.0)); }
  Value select(Value cond, Value x, Value y) { return arith::SelectOp::create(b, loc, cond, x, y); }
  /// The cotangent passed back through a holomorphic function with derivative `derivative`.
  Value through(Value ct, Value derivative) { return mul(ct, conj(derivative)); }
};

KVANT_SCALAR_RULE(complexAddRule) {
  (void)b, (void)loc, (void)x, (void)r;
  d[0] = ct;
  d[1] = ct;
}
KVANT_SCALAR_RULE(complexSubRule) {
  (void)x, (void)r;
  d[0] = ct;
  d[1] = Complexes(b, loc, ct.getType()).neg(ct);
}
KVANT_SCALAR_RULE(complexNegRule) {
  (void)x, (void)r;
  d[0] = Complexes(b, loc, ct.getType()).neg(ct);
}
KVANT_SCALAR_RULE(complexMulRule) { // each factor gets w̄ times the other's conjugate
  (void)r;
  Complexes z(b, loc, ct.getType());
  d[0] = z.through(ct, x[1]);
  d[1] = z.through(ct, x[0]);
}
KVANT_SCALAR_RULE(complexDivRule) { // w = a / b: dw/da = 1/b, dw/db = -w/b
  Complexes z(b, loc, ct.getType());
  Value overB = z.div(ct, z.conj(x[1])); // w̄ conj(1/b)
  d[0] = overB;
  d[1] = z.neg(z.mul(overB, z.conj(r)));
}
KVANT_SCALAR_RULE(conjRule) { // conj is not holomorphic: (x, -y) passes (x̄, -ȳ) back
  (void)x, (void)r;
  d[0] = Complexes(b, loc, ct.getType()).conj(ct);
}
KVANT_SCALAR_RULE(reRule) { // x̄ = ct, ȳ = 0
  (void)r;
  Complexes z(b, loc, x[0].getType());
  d[0] = z.make(ct, z.real(0.0));
}
KVANT_SCALAR_RULE(imRule) { // x̄ = 0, ȳ = ct
  (void)r;
  Complexes z(b, loc, x[0].getType());
  d[0] = z.make(z.real(0.0), ct);
}
KVANT_SCALAR_RULE(createRule) { // complex(x, y): x̄ = re(w̄), ȳ = im(w̄)
  (void)x, (void)r;
  Complexes z(b, loc, ct.getType());
  d[0] = z.re(ct);
  d[1] = z.im(ct);
}
KVANT_SCALAR_RULE(complexAbsRule) { // r = |z|: z̄ = r̄ z / r, and 0 at z = 0 (as JAX)
  Complexes z(b, loc, x[0].getType());
  Scalars s{b, loc, ct.getType()};
  Value atZero = s.cmp(arith::CmpFPredicate::OEQ, r, s.c(0.0));
  Value scale = s.select(atZero, s.c(0.0), s.div(ct, s.select(atZero, s.c(1.0), r)));
  d[0] = z.make(s.mul(scale, z.re(x[0])), s.mul(scale, z.im(x[0])));
}
// s = z / |z| (0 at 0), not holomorphic. From s = z g with g = 1/|z| real:
// z̄ = (s̄ - re(s̄ conj(s)) s) / |z|, taken as 0 at z = 0. (jax.grad takes sign to have no
// derivative at all, which is exact for real numbers only; this is the complex derivative.)
KVANT_SCALAR_RULE(complexSignRule) {
  Complexes z(b, loc, ct.getType());
  Scalars s{b, loc, z.part()};
  Value radius = complex::AbsOp::create(b, loc, x[0]);
  Value atZero = s.cmp(arith::CmpFPredicate::OEQ, radius, s.c(0.0));
  Value inward = s.select(atZero, s.c(0.0), s.div(s.c(1.0), s.select(atZero, s.c(1.0), radius)));
  Value radial = z.re(z.mul(ct, z.conj(r)));
  Value tangential = z.sub(ct, z.mul(z.make(radial, s.c(0.0)), r));
  d[0] = z.mul(tangential, z.make(inward, s.c(0.0)));
}

/// Holomorphic functions of one complex number: d = ct * conj(f'(z, w)).
#define KVANT_HOLOMORPHIC_RULE(NAME, DERIVATIVE)                                                   \
  KVANT_SCALAR_RULE(NAME) {                                                                        \
    Complexes z(b, loc, ct.getType());                                                             \
    Value a = x[0];                                                                                \
    (void)a, (void)r;                                                                              \
    d[0] = z.through(ct, DERIVATIVE);                                                              \
  }

KVANT_HOLOMORPHIC_RULE(complexExpRule, r)
KVANT_HOLOMORPHIC_RULE(complexExpm1Rule, z.add(r, z.c(1.0)))
KVANT_HOLOMORPHIC_RULE(complexLogRule, z.div(z.c(1.0), a))
KVANT_HOLOMORPHIC_RULE(complexLog1pRule, z.div(z.c(1.0), z.add(z.c(1.0), a)))
KVANT_HOLOMORPHIC_RULE(complexSqrtRule, z.div(z.c(0.5), r))
KVANT_HOLOMORPHIC_RULE(complexRsqrtRule, z.div(z.mul(z.c(-0.5), r), a))
KVANT_HOLOMORPHIC_RULE(complexSinRule, complex::CosOp::create(b, loc, a))
KVANT_HOLOMORPHIC_RULE(complexCosRule, z.neg(complex::SinOp::create(b, loc, a)))
KVANT_HOLOMORPHIC_RULE(complexTanRule, z.add(z.c(1.0), z.mul(r, r)))
KVANT_HOLOMORPHIC_RULE(complexTanhRule, z.sub(z.c(1.0), z.mul(r, r)))

KVANT_SCALAR_RULE(complexPowRule) { // a^p
  Complexes z(b, loc, ct.getType());
  Value a = x[0], p = x[1], zero = z.c(0.0);
  // As the real rule: d/da = p a^(p-1), 0 where p = 0; d/dp = log(a) a^p, log(0) read as 0.
  Value dA = z.mul(p, complex::PowOp::create(b, loc, a, z.sub(p, z.c(1.0))));
  d[0] = z.through(ct, z.select(z.isZero(p), zero, dA));
  Value safeA = z.select(z.isZero(a), z.c(1.0), a);
  d[1] = z.through(ct, z.mul(complex::LogOp::create(b, loc, safeA), r));
}

} // namespace

void kvant::gradient::addScalarRules(RuleTable &rules) {
  const std::pair<const char *, ScalarRule> table[] = {
      {"arith.addf", addRule},
      {"arith.subf", subRule},
      {"arith.mulf", mulRule},
      {"arith.divf", divRule},
      {"arith.negf", negRule},
      {"arith.remf", remRule},
      {"arith.maximumf", maxRule},
      {"arith.minimumf", minRule},
      {"arith.maxnumf", maxRule},
      {"arith.minnumf", minRule},
      {"arith.select", selectRule},
      {"arith.extf", extfRule},
      {"arith.truncf", truncfRule},
      {"math.sin", sinRule},
      {"math.cos", cosRule},
      {"math.tan", tanRule},
      {"math.asin", asinRule},
      {"math.acos", acosRule},
      {"math.atan", atanRule},
      {"math.atan2", atan2Rule},
      {"math.sinh", sinhRule},
      {"math.cosh", coshRule},
      {"math.tanh", tanhRule},
      {"math.asinh", asinhRule},
      {"math.acosh", acoshRule},
      {"math.atanh", atanhRule},
      {"math.exp", expRule},
      {"math.exp2", exp2Rule},
      {"math.expm1", expm1Rule},
      {"math.log", logRule},
      {"math.log2", log2Rule},
      {"math.log10", log10Rule},
      {"math.log1p", log1pRule},
      {"math.sqrt", sqrtRule},
      {"math.rsqrt", rsqrtRule},
      {"math.cbrt", cbrtRule},
      {"math.absf", absRule},
      {"math.erf", erfRule},
      {"math.erfc", erfcRule},
      {"math.powf", powRule},
      {"math.fpowi", fpowiRule},
      {"math.copysign", copysignRule},
      {"math.floor", zeroRule},
      {"math.ceil", zeroRule},
      {"math.round", zeroRule},
      {"math.roundeven", zeroRule},
      {"math.trunc", zeroRule},
      {"complex.add", complexAddRule},
      {"complex.sub", complexSubRule},
      {"complex.neg", complexNegRule},
      {"complex.mul", complexMulRule},
      {"complex.div", complexDivRule},
      {"complex.conj", conjRule},
      {"complex.re", reRule},
      {"complex.im", imRule},
      {"complex.create", createRule},
      {"complex.abs", complexAbsRule},
      {"complex.sign", complexSignRule},
      {"complex.exp", complexExpRule},
      {"complex.expm1", complexExpm1Rule},
      {"complex.log", complexLogRule},
      {"complex.log1p", complexLog1pRule},
      {"complex.sqrt", complexSqrtRule},
      {"complex.rsqrt", complexRsqrtRule},
      {"complex.sin", complexSinRule},
      {"complex.cos", complexCosRule},
      {"complex.tan", complexTanRule},
      {"complex.tanh", complexTanhRule},
      {"complex.pow", complexPowRule},
  };
  for (auto [name, rule] : table)
    rules.scalar[name] = rule;
}
