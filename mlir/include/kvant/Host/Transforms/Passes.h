//===- Passes.h - passes of the `host` dialect -----------------------------------------===//
#ifndef KVANT_HOST_TRANSFORMS_PASSES_H
#define KVANT_HOST_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kvant::host {

#define GEN_PASS_DECL
#include "kvant/Host/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kvant/Host/Transforms/Passes.h.inc"

} // namespace kvant::host

#endif // KVANT_HOST_TRANSFORMS_PASSES_H
