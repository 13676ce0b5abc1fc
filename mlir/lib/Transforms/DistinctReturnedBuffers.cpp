//===- DistinctReturnedBuffers.cpp - one buffer per returned result ------------------===//
//
// A function that returns one buffer in two result positions (`return %m, %m`: a jax.jit
// function returning a value twice, a QNode returning one outcome twice) crashes upstream
// buffer-results-to-out-params, which gives every result its own out-parameter and rewrites the
// returned buffer's allocation into one of them. Before it runs, each repeated result becomes a
// copy of its own, so the pass meets distinct buffers. Doing this on buffers, after the gradient
// ops are expanded, keeps it out of the differentiated code.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/SmallPtrSet.h"

namespace kvant {
#define GEN_PASS_DEF_DISTINCTRETURNEDBUFFERSPASS
#include "kvant/Transforms/Passes.h.inc"
} // namespace kvant

using namespace mlir;

namespace {

/// A fresh buffer holding a copy of `buffer`, made before `before`.
Value copyOf(OpBuilder &builder, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  SmallVector<Value> dynamicSizes;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    if (type.isDynamicDim(dim))
      dynamicSizes.push_back(memref::DimOp::create(builder, loc, buffer, dim));
  Value copy = memref::AllocOp::create(builder, loc, type, dynamicSizes);
  memref::CopyOp::create(builder, loc, buffer, copy);
  return copy;
}

struct DistinctReturnedBuffers
    : kvant::impl::DistinctReturnedBuffersPassBase<DistinctReturnedBuffers> {
  void runOnOperation() override {
    getOperation()->walk([](func::ReturnOp ret) {
      llvm::SmallPtrSet<Value, 8> seen;
      OpBuilder builder(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        Value value = operand.get();
        auto type = dyn_cast<MemRefType>(value.getType());
        // Results have the identity layout (one-shot-bufferize's
        // function-boundary-type-conversion=identity-layout-map), so an allocation of the
        // same type can stand in for the repeated one.
        if (!seen.insert(value).second && type && type.getLayout().isIdentity())
          operand.set(copyOf(builder, ret.getLoc(), value));
      }
    });
  }
};

} // namespace
