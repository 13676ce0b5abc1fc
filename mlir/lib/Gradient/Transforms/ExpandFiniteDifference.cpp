//===- ExpandFiniteDifference.cpp - gradient.grad "fd" -> forward differences ---------===//
//
// For  %J... = gradient.grad "fd" @f(%args) {diffArgIndices = [a...]}  we emit
//
//   %f0... = call @f(%args)                               // shared by every derivative
//   for each differentiated argument a (A elements, flattened x_flat : tensor<A x T>):
//     %Jflat_r... = scf.for %i = 0 to A iter_args(tensor<R_r x A> per result r) {
//       x_i' = x_flat[i] + h ;  x' = reshape(insert x_i' into x_flat at i)
//       %fi... = call @f(args with a := x')
//       column i of Jflat_r = reshape((%fi_r - %f0_r) / h, [R_r])   (inner scf.for)
//     }
//     J(r, a) = reshape(Jflat_r, [shape(r)..., shape(a)...])
//
// The rule, (f(x + h e_i) - f(x)) / h with the step the op carries, is the one
// docs/grad-semantics.md states for method "fd"; outside qjit the frontend evaluates the same
// rule at once (kvant.grad's _eager_fd).
//
// Everything stays on tensors (value semantics); bufferization happens later. Dynamic shapes
// are rejected with an error: the loop bounds and Jacobian types need static element counts.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/AutoDiff/TensorUtils.h"
#include "kvant/Gradient/IR/GradientOps.h"
#include "kvant/Gradient/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"

namespace kvant::gradient {
#define GEN_PASS_DEF_EXPANDFINITEDIFFERENCEPASS
#include "kvant/Gradient/Transforms/Passes.h.inc"
} // namespace kvant::gradient

using namespace mlir;
using namespace kvant::gradient;

namespace {

/// `v` (a float scalar) in float type `to`, widened or narrowed.
Value convertFloat(OpBuilder &b, Location loc, Value v, Type to) {
  auto from = cast<FloatType>(v.getType());
  if (from == to)
    return v;
  if (from.getWidth() < cast<FloatType>(to).getWidth())
    return arith::ExtFOp::create(b, loc, to, v);
  return arith::TruncFOp::create(b, loc, to, v);
}

/// A constant tensor of `type` filled with `value`.
Value splat(OpBuilder &b, Location loc, RankedTensorType type, double value) {
  auto attr = DenseElementsAttr::get(type, FloatAttr::get(type.getElementType(), value));
  return arith::ConstantOp::create(b, loc, attr);
}

LogicalResult expandGrad(GradOp op, func::FuncOp callee) {
  FunctionType fnType = callee.getFunctionType();
  ArrayRef<int64_t> diffArgs = op.getDiffArgIndices();
  for (int64_t a : diffArgs)
    if (!cast<RankedTensorType>(fnType.getInput(a)).hasStaticShape())
      return op.emitOpError() << "finite differences need static shapes, but differentiated "
                                 "argument "
                              << a << " has type " << fnType.getInput(a);
  for (auto [r, type] : llvm::enumerate(fnType.getResults()))
    if (!cast<RankedTensorType>(type).hasStaticShape())
      return op.emitOpError() << "finite differences need static shapes, but callee result " << r
                              << " has type " << type;

  double h = op.getFiniteDiffParam()->convertToDouble(); // "fd" ops carry it (verifier)

  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<Value> args(op.getOperands());
  auto base = func::CallOp::create(b, loc, callee, args);

  // Divide by h (rather than multiply by 1/h) so results match the documented formula exactly.
  SmallVector<RankedTensorType> resultTypes;
  SmallVector<Value> resultSteps;
  for (Type type : fnType.getResults().take_front(op.getNumDifferentiated())) {
    resultTypes.push_back(cast<RankedTensorType>(type));
    resultSteps.push_back(splat(b, loc, resultTypes.back(), h));
  }

  size_t numDiff = diffArgs.size();
  unsigned numValues = op.getNumValues();
  SmallVector<Value> jacobians(op.getNumResults() - numValues);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);

  for (auto [k, argIndex] : llvm::enumerate(diffArgs)) {
    Value x = args[argIndex];
    auto xType = cast<RankedTensorType>(x.getType());
    Type xElt = xType.getElementType();
    int64_t numArgElts = xType.getNumElements();
    Value xFlat = reshapeStatic(b, loc, x, RankedTensorType::get({numArgElts}, xElt));
    Value step = arith::ConstantOp::create(b, loc, FloatAttr::get(xElt, h));
    Value upper = arith::ConstantIndexOp::create(b, loc, numArgElts);

    SmallVector<Value> inits; // in the argument's element type, as the Jacobian
    for (RankedTensorType rType : resultTypes)
      inits.push_back(tensor::EmptyOp::create(
          b, loc, ArrayRef<int64_t>{rType.getNumElements(), numArgElts}, xElt));

    auto loop = scf::ForOp::create(
        b, loc, zero, upper, one, inits,
        [&](OpBuilder &lb, Location l, Value i, ValueRange columns) {
          Value xi = tensor::ExtractOp::create(lb, l, xFlat, ValueRange{i});
          Value shifted = arith::AddFOp::create(lb, l, xi, step);
          Value perturbedFlat = tensor::InsertOp::create(lb, l, shifted, xFlat, ValueRange{i});
          SmallVector<Value> callArgs(args);
          callArgs[argIndex] = reshapeStatic(lb, l, perturbedFlat, xType);
          auto call = func::CallOp::create(lb, l, callee, callArgs);

          SmallVector<Value> updated;
          for (auto [r, rType] : llvm::enumerate(resultTypes)) {
            Value diff = arith::SubFOp::create(lb, l, call.getResult(r), base.getResult(r));
            Value quotient = arith::DivFOp::create(lb, l, diff, resultSteps[r]);
            int64_t numResElts = rType.getNumElements();
            Value column = reshapeStatic(
                lb, l, quotient, RankedTensorType::get({numResElts}, rType.getElementType()));
            // Column i of the [R, A] matrix, element by element: a tensor.insert_slice of a
            // column would bufferize to a strided memref.copy, which lowers to a call to
            // `memrefCopy` from libmlir_c_runner_utils; scalar inserts become plain stores.
            Value upperR = arith::ConstantIndexOp::create(lb, l, numResElts);
            Value zeroR = arith::ConstantIndexOp::create(lb, l, 0);
            Value oneR = arith::ConstantIndexOp::create(lb, l, 1);
            auto inner = scf::ForOp::create(
                lb, l, zeroR, upperR, oneR, ValueRange{columns[r]},
                [&](OpBuilder &ib, Location il, Value row, ValueRange jac) {
                  Value element = convertFloat(
                      ib, il, tensor::ExtractOp::create(ib, il, column, ValueRange{row}), xElt);
                  Value next =
                      tensor::InsertOp::create(ib, il, element, jac[0], ValueRange{row, i});
                  scf::YieldOp::create(ib, il, next);
                });
            updated.push_back(inner.getResult(0));
          }
          scf::YieldOp::create(lb, l, updated);
        });

    for (auto [r, rType] : llvm::enumerate(resultTypes)) {
      unsigned position = r * numDiff + k;
      auto jacType = cast<RankedTensorType>(op.getJacobianResults()[position].getType());
      jacobians[position] = reshapeStatic(b, loc, loop.getResult(r), jacType);
    }
  }

  SmallVector<Value> replacements(base.getResults().take_front(numValues));
  llvm::append_range(replacements, jacobians);
  op.replaceAllUsesWith(replacements);
  op.erase();
  return success();
}

struct ExpandFiniteDifferencePass
    : public kvant::gradient::impl::ExpandFiniteDifferencePassBase<ExpandFiniteDifferencePass> {
  void runOnOperation() override {
    SmallVector<GradOp> work;
    getOperation().walk([&](GradOp op) {
      if (op.getMethod() == "fd")
        work.push_back(op);
    });
    SymbolTableCollection symbols;
    for (GradOp op : work) {
      // The verifier guarantees a func.func callee.
      auto callee = symbols.lookupNearestSymbolFrom<func::FuncOp>(op, op.getCalleeAttr());
      if (!callee || failed(expandGrad(op, callee)))
        return signalPassFailure();
    }
  }
};

} // namespace
