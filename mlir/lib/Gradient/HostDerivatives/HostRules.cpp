//===- HostRules.cpp - the derivative rule of host.callback ---------------------------===//
//
// See HostDerivatives.h.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/HostDerivatives/HostDerivatives.h"
#include "kvant/Host/IR/HostOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace kvant::gradient;
namespace host = kvant::host;

namespace {

/// Zeros of `type`, a static tensor of any element type (the cotangent of an integer result
/// bwd takes and ignores, or of a result no cotangent reached).
Value zerosOfAnyType(OpBuilder &b, Location loc, Type type) {
  if (isDifferentiableType(type))
    return zerosOf(b, loc, type);
  auto tensor = cast<RankedTensorType>(type);
  auto zero = IntegerAttr::get(tensor.getElementType(), 0);
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(tensor, zero));
}

LogicalResult callbackRule(ReverseSweep &sweep, Operation *op, ArrayRef<Value> resultCts) {
  auto callback = cast<host::CallbackOp>(op);
  if (!callback.getBwdAttr())
    return callback.emitError()
           << "kvant cannot differentiate the host callback '" << callback.getName()
           << "': it has no derivative (give it one with its fwd and bwd functions, as "
              "jax.custom_vjp), or differentiate with method=\"fd\"";
  OpBuilder &b = sweep.builder();
  Location loc = op->getLoc();
  auto module = op->getParentOfType<ModuleOp>();
  auto fwd = module.lookupSymbol<func::FuncOp>(callback.getFwdAttr());
  auto bwd = module.lookupSymbol<func::FuncOp>(callback.getBwdAttr());
  if (!fwd || !bwd)
    return callback.emitOpError("names fwd/bwd functions the module does not have");
  auto forward = func::CallOp::create(b, loc, fwd, callback.getOperands());
  SmallVector<Value> bwdArgs(forward.getResults().drop_front(callback.getNumResults()));
  for (auto [result, ct] : llvm::zip(callback.getResults(), resultCts))
    bwdArgs.push_back(ct ? ct : zerosOfAnyType(b, loc, result.getType()));
  auto backward = func::CallOp::create(b, loc, bwd, bwdArgs);
  for (auto [operand, ct] : llvm::zip(callback.getOperands(), backward.getResults()))
    sweep.accumulate(operand, ct);
  return success();
}

} // namespace

void kvant::gradient::addHostRules(RuleTable &rules) {
  rules.ops[host::CallbackOp::getOperationName()] = callbackRule;
}
