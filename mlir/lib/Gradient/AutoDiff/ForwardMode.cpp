//===- ForwardMode.cpp - the forward sweep: tangent bookkeeping and dispatch ----------===//
//
// See ForwardMode.h. This file holds the engine and the elementwise rules (the reverse scalar
// rules read as partial derivatives); TangentRules.cpp holds the tensor, linalg and scf rules.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/AutoDiff/ForwardMode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace kvant::gradient;

Value ForwardSweep::tangentOrZeros(Value value, Location loc) {
  if (Value t = tangent(value))
    return t;
  return zerosLike(b, loc, value);
}

void ForwardSweep::setTangent(Value value, Value t) {
  if (!t || !isDifferentiableType(value.getType()))
    return;
  assert(t.getType() == value.getType() && "a tangent has the type of its value");
  tangents[value] = t;
}

bool ForwardSweep::hasTangentInput(Operation *op) {
  if (llvm::any_of(op->getOperands(), [&](Value v) { return bool(tangent(v)); }))
    return true;
  if (op->getNumRegions() == 0)
    return false;
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  return llvm::any_of(captured, [&](Value v) { return bool(tangent(v)); });
}

/// ẏ = Σ_i (∂f/∂x_i) ẋ_i on scalars: the reverse rule at cotangent 1 gives the partials.
static Value scalarTangent(OpBuilder &b, Location loc, ScalarRule rule, ValueRange operands,
                           Value result, ArrayRef<Value> operandTangents) {
  SmallVector<Value> partials(operands.size());
  rule(b, loc, operands, result, constantOf(b, loc, result.getType(), 1.0), partials);
  Value sum;
  for (auto [partial, t] : llvm::zip(partials, operandTangents)) {
    if (!partial || !t)
      continue;
    Value term = arith::MulFOp::create(b, loc, partial, t);
    sum = sum ? arith::AddFOp::create(b, loc, sum, term).getResult() : term;
  }
  return sum;
}

/// The tangent of an elementwise op of any shape from its scalar (reverse) rule.
static LogicalResult elementwiseTangent(ForwardSweep &s, Operation *op, ScalarRule rule) {
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  Value result = op->getResult(0);
  unsigned n = op->getNumOperands();
  auto tensorType = dyn_cast<RankedTensorType>(result.getType());
  SmallVector<Value> operandTangents;
  for (Value operand : op->getOperands())
    operandTangents.push_back(s.tangent(operand));

  if (!tensorType) {
    s.setTangent(result, scalarTangent(b, loc, rule, op->getOperands(), result, operandTangents));
    return success();
  }
  if (tensorType.getRank() == 0) { // through the element, which scalarize-rank0 keeps scalar
    auto element = [&](Value v) -> Value {
      return v && isa<RankedTensorType>(v.getType())
                 ? tensor::ExtractOp::create(b, loc, v, ValueRange{}).getResult()
                 : v;
    };
    SmallVector<Value> operands, elementTangents;
    for (auto [operand, t] : llvm::zip(op->getOperands(), operandTangents)) {
      operands.push_back(element(operand));
      elementTangents.push_back(element(t));
    }
    Value t = scalarTangent(b, loc, rule, operands, element(result), elementTangents);
    if (t)
      s.setTangent(result, tensor::FromElementsOp::create(b, loc, tensorType, t));
    return success();
  }
  // Other tensors: one linalg.generic computes the tangent point by point from the operands,
  // the result and the operands' tangents.
  SmallVector<Value> inputs(op->getOperands());
  inputs.push_back(result);
  SmallVector<unsigned> withTangent;
  for (unsigned i = 0; i < n; ++i)
    if (operandTangents[i]) {
      withTangent.push_back(i);
      inputs.push_back(operandTangents[i]);
    }
  AffineMap identity = b.getMultiDimIdentityMap(tensorType.getRank());
  AffineMap scalar = AffineMap::get(tensorType.getRank(), 0, b.getContext());
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(isa<ShapedType>(input.getType()) ? identity : scalar);
  maps.push_back(identity);
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, result),
                                       tensorType.getElementType());
  SmallVector<utils::IteratorType> iterators(tensorType.getRank(), utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{tensorType}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        SmallVector<Value> elementTangents(n);
        for (auto [k, i] : llvm::enumerate(withTangent))
          elementTangents[i] = args[n + 1 + k];
        Value t = scalarTangent(nb, l, rule, args.take_front(n), args[n], elementTangents);
        linalg::YieldOp::create(nb, l, t ? t : zerosOf(nb, l, args[n].getType()));
      });
  s.setTangent(result, generic.getResult(0));
  return success();
}

LogicalResult ForwardSweep::apply(Operation *op, bool inPlace) {
  if (!hasTangentInput(op))
    return success();
  if (llvm::none_of(op->getResultTypes(), isDifferentiableType))
    return success(); // comparisons, conversions to integers: no tangent flows on
  StringRef name = op->getName().getStringRef();
  // Complex values that carry no tangent (a constant matrix a circuit takes) are fine.
  auto isComplex = [](Type t) { return hasComplexElements(t); };
  if (llvm::any_of(op->getResultTypes(), isComplex) ||
      llvm::any_of(op->getOperands(),
                   [&](Value v) { return tangent(v) && hasComplexElements(v.getType()); }))
    return op->emitError() << "kvant's forward mode (jvp) does not differentiate complex values "
                              "yet ('"
                           << name << "'); jax.jvp outside qjit, or the Jacobian, does";
  OpBuilder::InsertionGuard guard(b);
  this->inPlace = inPlace;
  if (inPlace)
    b.setInsertionPointAfter(op);
  if (auto it = table.ops.find(name); it != table.ops.end())
    return it->second(*this, op);
  if (auto it = table.scalar.find(name); it != table.scalar.end() && op->getNumResults() == 1)
    return elementwiseTangent(*this, op, it->second);
  auto call = dyn_cast<CallOpInterface>(op);
  auto symbol = call ? dyn_cast<SymbolRefAttr>(call.getCallableForCallee()) : SymbolRefAttr();
  if (symbol) {
    Operation *callee = call.resolveCallable();
    StringRef calleeName = symbol.getLeafReference().getValue();
    for (const auto &entry : table.refusedCallees)
      if (callee && callee->hasAttr(entry.getKey()))
        return op->emitError() << "kvant's forward mode (jvp) has no tangent rule for "
                               << entry.getValue() << " '" << calleeName << "' yet";
    for (const auto &entry : table.callees)
      if (callee && callee->hasAttr(entry.getKey()))
        return entry.getValue()(*this, op);
    return op->emitError() << "kvant's forward mode (jvp) cannot differentiate this call of '"
                           << calleeName << "'";
  }
  return op->emitError() << "kvant has no tangent rule for '" << name
                         << "' (forward mode, used by jvp)";
}

LogicalResult ForwardSweep::run(ArrayRef<Operation *> ops) {
  for (Operation *op : ops)
    if (failed(apply(op, /*inPlace=*/false)))
      return failure();
  return success();
}

LogicalResult ForwardSweep::runInPlace(Block &block) {
  SmallVector<Operation *> ops;
  for (Operation &op : block.without_terminator())
    ops.push_back(&op);
  // The builder's own position must not be an op this sweep replaces.
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(&block);
  bool outer = inPlace; // the rule that called this finishes its own op afterwards
  for (Operation *op : ops)
    if (failed(apply(op, /*inPlace=*/true)))
      return failure();
  inPlace = outer;
  return success();
}

void ForwardSweep::finishCopy(Operation *op, ValueRange primal, ArrayRef<Value> tangentsOut) {
  if (inPlace) {
    op->replaceAllUsesWith(primal);
    erase(op);
    for (auto [value, t] : llvm::zip(primal, tangentsOut))
      setTangent(value, t);
    return;
  }
  for (auto [value, t] : llvm::zip(op->getResults(), tangentsOut))
    setTangent(value, t);
}

void ForwardSweep::erase(Operation *op) {
  op->walk([&](Operation *inner) {
    for (Value v : inner->getResults())
      tangents.erase(v);
    for (Region &region : inner->getRegions())
      for (Block &block : region)
        for (Value v : block.getArguments())
          tangents.erase(v);
  });
  op->erase();
}
