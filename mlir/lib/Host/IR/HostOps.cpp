//===- HostOps.cpp - the `host` dialect and its verifiers -----------------------------===//

#include "kvant/Host/IR/HostOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace kvant::host;

#include "kvant/Host/IR/HostDialect.cpp.inc"

void HostDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "kvant/Host/IR/HostOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "kvant/Host/IR/HostOps.cpp.inc"

void CallbackOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  if (getPure())
    return;
  // What the host function does is unknown: it reads and writes state no value carries.
  effects.emplace_back(MemoryEffects::Read::get());
  effects.emplace_back(MemoryEffects::Write::get());
}

LogicalResult CallbackOp::verify() {
  // I64Attr's accessor is unsigned: read the attribute's signed value.
  if (getCallbackAttr().getInt() < 0)
    return emitOpError() << "has a negative callback number " << getCallbackAttr().getInt();
  if (bool(getFwdAttr()) != bool(getBwdAttr()))
    return emitOpError() << "needs both `fwd` and `bwd`, or neither";
  return success();
}

/// `types` as "(t0, t1, ...)" for messages.
static std::string listTypes(TypeRange types) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "(";
  llvm::interleaveComma(types, os);
  os << ")";
  return text;
}

LogicalResult CallbackOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  if (!getFwdAttr())
    return success();
  auto lookup = [&](FlatSymbolRefAttr ref, StringRef role) -> FailureOr<func::FuncOp> {
    auto fn = symbolTable.lookupNearestSymbolFrom<func::FuncOp>(*this, ref);
    if (!fn)
      return emitOpError() << "names '" << ref.getValue() << "' as its " << role
                           << " function, which is not a func.func in scope";
    return fn;
  };
  FailureOr<func::FuncOp> fwd = lookup(getFwdAttr(), "fwd");
  if (failed(fwd))
    return failure();
  FailureOr<func::FuncOp> bwd = lookup(getBwdAttr(), "bwd");
  if (failed(bwd))
    return failure();

  // fwd : (operands...) -> (results..., residuals...)
  FunctionType fwdType = fwd->getFunctionType();
  if (TypeRange(fwdType.getInputs()) != getOperands().getTypes())
    return emitOpError() << "fwd function '" << getFwdAttr().getValue() << "' must take "
                         << listTypes(getOperands().getTypes()) << ", it takes "
                         << listTypes(fwdType.getInputs());
  unsigned numResults = getNumResults();
  if (fwdType.getNumResults() < numResults ||
      TypeRange(fwdType.getResults().take_front(numResults)) != getResultTypes())
    return emitOpError() << "fwd function '" << getFwdAttr().getValue()
                         << "' must return the callback's results " << listTypes(getResultTypes())
                         << " first, it returns " << listTypes(fwdType.getResults());
  ArrayRef<Type> residuals = fwdType.getResults().drop_front(numResults);

  // bwd : (residuals..., result cotangents...) -> (operand cotangents...)
  SmallVector<Type> bwdInputs(residuals);
  llvm::append_range(bwdInputs, getResultTypes());
  FunctionType bwdType = bwd->getFunctionType();
  if (TypeRange(bwdType.getInputs()) != TypeRange(bwdInputs))
    return emitOpError() << "bwd function '" << getBwdAttr().getValue()
                         << "' must take the residuals and the result cotangents "
                         << listTypes(bwdInputs) << ", it takes " << listTypes(bwdType.getInputs());
  if (TypeRange(bwdType.getResults()) != getOperands().getTypes())
    return emitOpError() << "bwd function '" << getBwdAttr().getValue()
                         << "' must return one cotangent per operand "
                         << listTypes(getOperands().getTypes()) << ", it returns "
                         << listTypes(bwdType.getResults());
  return success();
}
