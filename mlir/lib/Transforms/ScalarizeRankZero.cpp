//===- ScalarizeRankZero.cpp - elementwise ops on rank-0 tensors -> scalar ops ---------===//
//
// The frontend gives every JAX value a tensor type, scalars included, so the classical code
// that computes gate parameters is a chain of `arith.mulf %a, %b : tensor<f64>`. Left as is,
// each op becomes a linalg.generic and a buffer. Rewriting
//     %r = arith.mulf %a, %b : tensor<f64>
// into
//     %r = tensor.from_elements (arith.mulf %a_scalar, %b_scalar)
// (chains of such ops pass scalars directly; other tensors are read once with tensor.extract)
// lets canonicalization fold the remaining extract(from_elements(x)) pairs, leaving plain scalar
// code for bufferization and LLVM (measured: about half the pass-pipeline time of a 240-gate
// program).
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Transforms/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"

namespace kvant {
#define GEN_PASS_DEF_SCALARIZERANKZEROPASS
#include "kvant/Transforms/Passes.h.inc"
} // namespace kvant

using namespace mlir;

namespace {

bool isRankZeroTensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.getRank() == 0;
}

/// An elementwise-mappable op (arith, math, ...) whose operands and results are all rank-0
/// tensors, with no regions: its scalar form has the same name and attributes.
bool isScalarizable(Operation *op) {
  if (!op->hasTrait<OpTrait::Elementwise>() || op->getNumRegions() != 0 || op->getNumResults() == 0)
    return false;
  return llvm::all_of(op->getOperandTypes(), isRankZeroTensor) &&
         llvm::all_of(op->getResultTypes(), isRankZeroTensor);
}

struct ScalarizeRankZero : kvant::impl::ScalarizeRankZeroPassBase<ScalarizeRankZero> {
  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation()->walk([&](Operation *op) {
      if (isScalarizable(op))
        candidates.push_back(op);
    });
    // The scalar inside each rank-0 tensor, read once: one extract per tensor, right after its
    // definition, rather than one per use. A parameter used by 300 gates otherwise becomes 300
    // reads of the same tensor, which one-shot-bufferize's alias analysis then checks pairwise
    // (it was 27% of the pipeline for a 480-gate circuit).
    DenseMap<Value, Value> scalarOf;
    auto scalar = [&](Value tensor) -> Value {
      if (Value known = scalarOf.lookup(tensor))
        return known;
      OpBuilder builder(tensor.getContext());
      if (auto arg = dyn_cast<BlockArgument>(tensor))
        builder.setInsertionPointToStart(arg.getOwner());
      else
        builder.setInsertionPointAfter(tensor.getDefiningOp());
      Value element = tensor::ExtractOp::create(builder, tensor.getLoc(), tensor, ValueRange{});
      scalarOf[tensor] = element;
      return element;
    };
    for (Operation *op : candidates) {
      OpBuilder builder(op);
      Location loc = op->getLoc();
      SmallVector<Value> scalars;
      for (Value operand : op->getOperands())
        scalars.push_back(scalar(operand));
      SmallVector<Type> scalarTypes;
      for (Type type : op->getResultTypes())
        scalarTypes.push_back(cast<RankedTensorType>(type).getElementType());
      OperationState state(loc, op->getName().getStringRef(), scalars, scalarTypes, op->getAttrs());
      Operation *scalarOp = builder.create(state);
      SmallVector<Value> tensors;
      for (auto [result, element] : llvm::zip(op->getResults(), scalarOp->getResults())) {
        Value tensor =
            tensor::FromElementsOp::create(builder, loc, result.getType(), ValueRange{element});
        scalarOf[tensor] = element;
        tensors.push_back(tensor);
      }
      op->replaceAllUsesWith(tensors);
    }
    // Erased only now: a freed op's result could otherwise reappear as the key of a new value.
    for (Operation *op : candidates)
      op->erase();
  }
};

} // namespace
