//===- HostDerivatives.h - host callbacks inside reverse-mode derivatives ----*- C++ -*-===//
//
// A host.callback with `fwd` and `bwd` functions (the pair of jax.custom_vjp, HostOps.td) is
// differentiated by calling them: in the reverse sweep, fwd runs again on the callback's
// operands for the residuals, and bwd maps the residuals and the result cotangents to the
// operand cotangents. The callback is pure, so running fwd in the reverse sweep rather than in
// place of the forward call gives the same residuals, and the forward code stays as written
// (loop rules record and recompute it like any other op). A callback without them is refused
// by name when a cotangent reaches it.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_HOSTDERIVATIVES_HOSTDERIVATIVES_H
#define KVANT_GRADIENT_HOSTDERIVATIVES_HOSTDERIVATIVES_H

#include "kvant/Gradient/AutoDiff/ReverseMode.h"

namespace kvant::gradient {

/// The rule of host.callback.
void addHostRules(RuleTable &rules);

} // namespace kvant::gradient

#endif // KVANT_GRADIENT_HOSTDERIVATIVES_HOSTDERIVATIVES_H
