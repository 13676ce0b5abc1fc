//===- Passes.h - passes of the `quantum` dialect --------------------------------------===//
#ifndef KVANT_QUANTUM_TRANSFORMS_PASSES_H
#define KVANT_QUANTUM_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kvant::quantum {

#define GEN_PASS_DECL
#include "kvant/Quantum/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kvant/Quantum/Transforms/Passes.h.inc"

} // namespace kvant::quantum

#endif // KVANT_QUANTUM_TRANSFORMS_PASSES_H
