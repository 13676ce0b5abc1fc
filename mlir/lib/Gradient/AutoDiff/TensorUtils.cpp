//===- TensorUtils.cpp - small tensor builders shared by the gradient passes ----------===//

#include "kvant/Gradient/AutoDiff/TensorUtils.h"
#include "kvant/Gradient/AutoDiff/ReverseMode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace {

ReassociationIndices allDims(int64_t rank) {
  ReassociationIndices dims;
  for (int64_t d = 0; d < rank; ++d)
    dims.push_back(d);
  return dims;
}

} // namespace

Value kvant::gradient::reshapeStatic(OpBuilder &b, Location loc, Value value,
                                     RankedTensorType target) {
  auto source = cast<RankedTensorType>(value.getType());
  if (source == target)
    return value;
  auto flatType = RankedTensorType::get({source.getNumElements()}, source.getElementType());
  Value flat = value;
  if (source.getRank() == 0)
    flat = tensor::ExpandShapeOp::create(b, loc, flatType, value, ArrayRef<ReassociationIndices>{});
  else if (source.getRank() > 1)
    flat = tensor::CollapseShapeOp::create(
        b, loc, flatType, value, ArrayRef<ReassociationIndices>{allDims(source.getRank())});
  if (target.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, target, flat, ArrayRef<ReassociationIndices>{});
  if (target.getRank() == 1)
    return flat;
  return tensor::ExpandShapeOp::create(b, loc, target, flat,
                                       ArrayRef<ReassociationIndices>{allDims(target.getRank())});
}

Value kvant::gradient::sumAll(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  Type elt = type.getElementType();
  if (type.getRank() == 0)
    return tensor::ExtractOp::create(b, loc, tensor, ValueRange{});
  Value zero = zerosOf(b, loc, elt);
  Value init = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, elt);
  init = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init}).getResult(0);
  SmallVector<int64_t> dims = llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
  auto reduce = linalg::ReduceOp::create(
      b, loc, ValueRange{tensor}, ValueRange{init}, dims,
      [](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, ValueRange{addValues(nb, l, args[0], args[1])});
      });
  return tensor::ExtractOp::create(b, loc, reduce.getResult(0), ValueRange{});
}
