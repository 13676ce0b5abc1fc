//===- Passes.h - kvant passes on upstream dialects ------------------------------------===//
#ifndef KVANT_TRANSFORMS_PASSES_H
#define KVANT_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace kvant {

#define GEN_PASS_DECL
#include "kvant/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kvant/Transforms/Passes.h.inc"

} // namespace kvant

#endif // KVANT_TRANSFORMS_PASSES_H
