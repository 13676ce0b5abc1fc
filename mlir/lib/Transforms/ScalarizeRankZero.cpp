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
// The pass also reads elements where they live: `tensor.extract` of a `tensor.collapse_shape`
// that drops unit dimensions, or of a `tensor.extract_slice`, becomes a `tensor.extract` of their
// source at the corresponding index. A JAX `p[k]` is lowered as slice + squeeze + extract; one
// per gate parameter made thousands of slices aliasing the same argument, and one-shot-bufferize's
// alias analysis compares each slice with every other use of that argument: its time grew with
// the square of the number of gates (2,000 gates: 2.0 s of a 2.3 s pipeline). Read from the
// source directly, the slices are dead and canonicalization removes them.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/SmallBitVector.h"

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

/// `a * b + c` on indices, folded where all are constants.
OpFoldResult mulAdd(OpBuilder &builder, Location loc, OpFoldResult a, OpFoldResult b,
                    OpFoldResult c) {
  std::optional<int64_t> ca = getConstantIntValue(a), cb = getConstantIntValue(b),
                         cc = getConstantIntValue(c);
  if (ca && cb && cc)
    return builder.getIndexAttr(*ca * *cb + *cc);
  auto value = [&](OpFoldResult r) { return getValueOrCreateConstantIndexOp(builder, loc, r); };
  Value product = value(a);
  if (!cb || *cb != 1)
    product = arith::MulIOp::create(builder, loc, product, value(b));
  if (cc && *cc == 0)
    return product;
  return arith::AddIOp::create(builder, loc, product, value(c)).getResult();
}

/// The indices into the source of `collapse` of the element at `indices` of its result, when
/// every reassociation group has at most one dimension that is not a static 1 (a squeeze).
std::optional<SmallVector<OpFoldResult>> indicesInSource(tensor::CollapseShapeOp collapse,
                                                         ArrayRef<OpFoldResult> indices,
                                                         OpBuilder &builder) {
  ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
  SmallVector<OpFoldResult> source(shape.size(), builder.getIndexAttr(0));
  for (auto [group, index] : llvm::zip(collapse.getReassociationIndices(), indices)) {
    std::optional<int64_t> wide;
    for (int64_t dim : group) {
      if (shape[dim] == 1)
        continue;
      if (wide)
        return std::nullopt;
      wide = dim;
    }
    source[wide.value_or(group.back())] = index;
  }
  // a rank-0 result: every source dimension is 1, read at index 0
  return source;
}

/// Make `extract` read from the source of the slices and squeezes it reads through.
void readFromSource(tensor::ExtractOp extract) {
  OpBuilder builder(extract);
  Location loc = extract.getLoc();
  Value tensor = extract.getTensor();
  SmallVector<OpFoldResult> indices = getAsOpFoldResult(extract.getIndices());
  bool changed = false;
  while (Operation *def = tensor.getDefiningOp()) {
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def)) {
      auto source = indicesInSource(collapse, indices, builder);
      if (!source)
        break;
      indices = std::move(*source);
      tensor = collapse.getSrc();
    } else if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
      llvm::SmallBitVector dropped = slice.getDroppedDims();
      SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
      SmallVector<OpFoldResult> strides = slice.getMixedStrides();
      SmallVector<OpFoldResult> source;
      auto index = indices.begin();
      for (unsigned dim = 0; dim < offsets.size(); ++dim)
        source.push_back(dropped.test(dim)
                             ? offsets[dim]
                             : mulAdd(builder, loc, *index++, strides[dim], offsets[dim]));
      indices = std::move(source);
      tensor = slice.getSource();
    } else {
      break;
    }
    changed = true;
  }
  if (!changed)
    return;
  SmallVector<Value> values;
  for (OpFoldResult index : indices)
    values.push_back(getValueOrCreateConstantIndexOp(builder, loc, index));
  extract.getTensorMutable().assign(tensor);
  extract.getIndicesMutable().assign(values);
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
    getOperation()->walk([](tensor::ExtractOp extract) { readFromSource(extract); });
  }
};

} // namespace
