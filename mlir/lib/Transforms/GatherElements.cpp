//===- GatherElements.cpp - tensors put together from elements of one tensor ----------===//
//
// The skeleton of a differentiated QNode packs the gate parameters into one tensor p with a
// tensor.from_elements of one scalar per parameter; after kvant-scalarize-rank0 and
// canonicalization each scalar is a tensor.extract of the QNode's argument x at a constant
// index (p[k] = x[i_k]). The reverse sweep of the circuit call reads the cotangent of p element
// by element and puts the elements together again in their order. Every element is a load and
// a store (four LLVM instructions) in straight-line code that bufferization, the conversion to
// LLVM and LLVM's code generation then handle one by one: for a 20,000-gate gradient, 91,000 of
// the 134,000 lines of LLVM IR. Here such a tensor becomes
//   - the tensor it reads, when it reads all of it, in its order, in its shape;
//   - else (a one-dimensional result) one tensor.generate reading the source at a constant
//     table of the indices, which bufferizes to one loop.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/ADT/SetVector.h"

namespace kvant {
#define GEN_PASS_DEF_GATHERELEMENTSPASS
#include "kvant/Transforms/Passes.h.inc"
} // namespace kvant

using namespace mlir;

namespace {

/// Fewer elements are left as they are: the loop and its table would not be smaller.
constexpr size_t kMinGatheredElements = 16;

/// `source` and the constant indices (`rank` per element, row-major) of the elements of
/// a tensor.from_elements that are all tensor.extract ops of one tensor at constant indices.
struct Gather {
  Value source;
  SmallVector<int64_t> indices;
};

std::optional<Gather> gatherOf(tensor::FromElementsOp op) {
  if (op.getElements().size() < kMinGatheredElements)
    return std::nullopt;
  Gather gather;
  for (Value element : op.getElements()) {
    auto extract = element.getDefiningOp<tensor::ExtractOp>();
    if (!extract)
      return std::nullopt;
    if (!gather.source)
      gather.source = extract.getTensor();
    if (extract.getTensor() != gather.source)
      return std::nullopt;
    for (Value index : extract.getIndices()) {
      std::optional<int64_t> constant = getConstantIntValue(index);
      if (!constant)
        return std::nullopt;
      gather.indices.push_back(*constant);
    }
  }
  if (cast<RankedTensorType>(gather.source.getType()).getRank() == 0)
    return std::nullopt;
  return gather;
}

/// Whether the elements are all of `source`, in its row-major order and shape.
bool isWholeSource(tensor::FromElementsOp op, const Gather &gather) {
  auto type = cast<RankedTensorType>(gather.source.getType());
  if (type != op.getType())
    return false;
  int64_t rank = type.getRank(), k = 0;
  for (size_t start = 0; start < gather.indices.size(); start += rank, ++k) {
    int64_t linear = 0;
    for (int64_t d = 0; d < rank; ++d)
      linear = linear * type.getDimSize(d) + gather.indices[start + d];
    if (linear != k)
      return false;
  }
  return true;
}

Value gatherLoop(tensor::FromElementsOp op, const Gather &gather) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto count = int64_t(op.getElements().size());
  int64_t rank = cast<RankedTensorType>(gather.source.getType()).getRank();
  auto tableType = RankedTensorType::get({count, rank}, b.getIndexType());
  Value table = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(tableType, ArrayRef<int64_t>(gather.indices)));
  return tensor::GenerateOp::create(
      b, loc, op.getType(), ValueRange{}, [&](OpBuilder &gb, Location l, ValueRange ivs) {
        SmallVector<Value> at;
        for (int64_t d = 0; d < rank; ++d)
          at.push_back(tensor::ExtractOp::create(
              gb, l, table, ValueRange{ivs[0], arith::ConstantIndexOp::create(gb, l, d)}));
        tensor::YieldOp::create(gb, l, tensor::ExtractOp::create(gb, l, gather.source, at));
      });
}

struct GatherElements : kvant::impl::GatherElementsPassBase<GatherElements> {
  void runOnOperation() override {
    SmallVector<tensor::FromElementsOp> ops;
    getOperation()->walk([&](tensor::FromElementsOp op) { ops.push_back(op); });
    for (tensor::FromElementsOp op : ops) {
      std::optional<Gather> gather = gatherOf(op);
      if (!gather)
        continue;
      Value replacement;
      if (isWholeSource(op, *gather))
        replacement = gather->source;
      else if (op.getType().getRank() == 1)
        replacement = gatherLoop(op, *gather);
      else
        continue;
      // an element may be read more than once
      llvm::SetVector<Operation *> reads;
      for (Value element : op.getElements())
        reads.insert(element.getDefiningOp());
      op.replaceAllUsesWith(replacement);
      op.erase();
      // The reads are dead now unless something else uses them; left in place, they would
      // count as uses of the source for the bufferization analysis, which runs next.
      for (Operation *read : reads)
        if (read->use_empty())
          read->erase();
    }
  }
};

} // namespace
