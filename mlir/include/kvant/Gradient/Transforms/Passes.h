//===- Passes.h - passes of the `gradient` dialect -------------------------------------===//
#ifndef KVANT_GRADIENT_TRANSFORMS_PASSES_H
#define KVANT_GRADIENT_TRANSFORMS_PASSES_H

#include "kvant/Quantum/IR/QuantumDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kvant::gradient {

#define GEN_PASS_DECL
#include "kvant/Gradient/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kvant/Gradient/Transforms/Passes.h.inc"

} // namespace kvant::gradient

#endif // KVANT_GRADIENT_TRANSFORMS_PASSES_H
