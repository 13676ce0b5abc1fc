//===- TensorUtils.h - small tensor builders shared by the gradient passes ---*- C++ -*-===//

#ifndef KVANT_GRADIENT_AUTODIFF_TENSORUTILS_H
#define KVANT_GRADIENT_AUTODIFF_TENSORUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace kvant::gradient {

/// Reshapes a static tensor to `target` (same element count and type) through a 1-D tensor:
/// collapse_shape/expand_shape only, which bufferize to views, never copies.
mlir::Value reshapeStatic(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                          mlir::RankedTensorType target);

/// The sum of all elements of a float or complex tensor, as a scalar.
mlir::Value sumAll(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tensor);

} // namespace kvant::gradient

#endif // KVANT_GRADIENT_AUTODIFF_TENSORUTILS_H
