//===- GradientDialect.h - the `gradient` dialect --------------------------------------===//
#ifndef KVANT_GRADIENT_IR_GRADIENTDIALECT_H
#define KVANT_GRADIENT_IR_GRADIENTDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/Operation.h"

#include "kvant/Gradient/IR/GradientDialect.h.inc"
#include "kvant/Gradient/IR/GradientEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kvant/Gradient/IR/GradientAttrs.h.inc"

namespace kvant::gradient {
/// The #gradient.circuit of `op` (a function), null when it is not a circuit function.
inline CircuitAttr getCircuitAttr(mlir::Operation *op) {
  return op->getAttrOfType<CircuitAttr>(GradientDialect::getCircuitAttrName());
}
} // namespace kvant::gradient

#endif // KVANT_GRADIENT_IR_GRADIENTDIALECT_H
