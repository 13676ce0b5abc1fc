//===- LoadTensorElements.cpp - tensors read element by element -> memref.load --------===//
//
// A QNode reads each gate parameter with a tensor.extract of its argument: N gates, N uses of
// one tensor. One-shot-bufferize decides every use of a tensor against all uses of the tensor
// and of its aliases, so those reads cost O(N^2): 3.0 s of the 3.5 s the pipeline took for a
// 4,000-gate program (0.8 s at 2,000 gates). The reads are made through a buffer instead:
//     %b = bufferization.to_buffer %t read_only
//     %x = memref.load %b[...]
// leaving the analysis one use of %t. Safe only where nothing writes %b while the loads run,
// which the analysis can no longer check: a function argument all of whose uses are the reads
// (the function writes it nowhere), the result of tensor.from_elements used by the reads alone
// (a fresh buffer). Any other tensor defined in a function's entry block, an argument passed
// on to a call included, is copied first (bufferization.alloc_tensor ... copy, once per call)
// and the copy is read; tensors defined in loops or branches are left alone (a copy per
// iteration could cost more than the reads).
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace kvant {
#define GEN_PASS_DEF_LOADTENSORELEMENTSPASS
#include "kvant/Transforms/Passes.h.inc"
} // namespace kvant

using namespace mlir;

namespace {

/// Tensors read by fewer extracts are left to the analysis (their cost is small).
constexpr size_t kMinReads = 16;

/// The tensor.extract ops reading `tensor`, if there are enough of them; `others` tells whether
/// it has uses of other kinds too.
SmallVector<tensor::ExtractOp> readsOf(Value tensor, bool &others) {
  SmallVector<tensor::ExtractOp> reads;
  others = false;
  auto type = dyn_cast<RankedTensorType>(tensor.getType());
  if (!type || type.getRank() == 0 || type.getEncoding())
    return reads;
  for (OpOperand &use : tensor.getUses()) {
    auto extract = dyn_cast<tensor::ExtractOp>(use.getOwner());
    if (extract && use.getOperandNumber() == 0)
      reads.push_back(extract);
    else
      others = true;
  }
  if (reads.size() < kMinReads)
    reads.clear();
  return reads;
}

void loadFromBuffer(Value tensor, ArrayRef<tensor::ExtractOp> reads, bool copy) {
  auto type = cast<RankedTensorType>(tensor.getType());
  OpBuilder b(tensor.getContext());
  if (auto arg = dyn_cast<BlockArgument>(tensor))
    b.setInsertionPointToStart(arg.getOwner());
  else
    b.setInsertionPointAfter(tensor.getDefiningOp());
  Location loc = tensor.getLoc();
  Value source = tensor;
  if (copy)
    source = bufferization::AllocTensorOp::create(b, loc, type, ValueRange{}, tensor);
  auto bufferType = MemRefType::get(type.getShape(), type.getElementType());
  Value buffer = bufferization::ToBufferOp::create(b, loc, bufferType, source, /*read_only=*/true);
  for (tensor::ExtractOp extract : reads) {
    OpBuilder at(extract);
    extract.replaceAllUsesWith(
        memref::LoadOp::create(at, extract.getLoc(), buffer, extract.getIndices()).getResult());
    extract.erase();
  }
}

struct LoadTensorElements : kvant::impl::LoadTensorElementsPassBase<LoadTensorElements> {
  void runOnOperation() override {
    struct Candidate {
      Value tensor;
      SmallVector<tensor::ExtractOp> reads;
      bool copy;
    };
    SmallVector<Candidate> candidates;
    getOperation()->walk([&](func::FuncOp func) {
      if (func.isExternal())
        return;
      Block &entry = func.getBody().front();
      auto consider = [&](Value value, bool fresh, bool inEntry) {
        bool others;
        SmallVector<tensor::ExtractOp> reads = readsOf(value, others);
        if (reads.empty())
          return;
        if (fresh && !others)
          candidates.push_back({value, std::move(reads), false});
        else if (inEntry) // read once per call, however large
          candidates.push_back({value, std::move(reads), true});
      };
      for (BlockArgument arg : entry.getArguments())
        consider(arg, /*fresh=*/true, /*inEntry=*/true);
      func.walk([&](Operation *op) {
        for (Value result : op->getResults())
          consider(result, isa<tensor::FromElementsOp>(op), op->getBlock() == &entry);
      });
    });
    for (Candidate &candidate : candidates)
      loadFromBuffer(candidate.tensor, candidate.reads, candidate.copy);
  }
};

} // namespace
