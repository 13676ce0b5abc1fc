//===- ReverseMode.cpp - the reverse sweep: cotangent bookkeeping and dispatch --------===//
//
// See ReverseMode.h. This file knows no derivative formulas: it accumulates cotangents, walks
// ops backwards, and maps scalar rules onto whatever shape an elementwise op has.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/AutoDiff/ReverseMode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace kvant::gradient;

bool kvant::gradient::isDifferentiableType(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    type = tensor.getElementType();
  if (auto complex = dyn_cast<ComplexType>(type))
    type = complex.getElementType();
  return isa<FloatType>(type);
}

bool kvant::gradient::hasComplexElements(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    type = shaped.getElementType();
  return isa<ComplexType>(type);
}

Value kvant::gradient::constantOf(OpBuilder &b, Location loc, Type type, double value) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  Type element = tensor ? tensor.getElementType() : type;
  if (auto complex = dyn_cast<ComplexType>(element)) {
    auto re = FloatAttr::get(complex.getElementType(), value);
    auto im = FloatAttr::get(complex.getElementType(), 0.0);
    if (!tensor)
      return complex::ConstantOp::create(b, loc, complex, b.getArrayAttr({re, im}));
    std::complex<APFloat> splat(re.getValue(), im.getValue());
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(tensor, ArrayRef(splat)));
  }
  if (tensor) {
    auto attr = DenseElementsAttr::get(tensor, FloatAttr::get(element, value));
    return arith::ConstantOp::create(b, loc, attr);
  }
  return arith::ConstantOp::create(b, loc, FloatAttr::get(type, value));
}

Value kvant::gradient::zerosOf(OpBuilder &b, Location loc, Type type) {
  return constantOf(b, loc, type, 0.0);
}

/// A complex tensor combined elementwise with another of its shape: the complex dialect has
/// scalar ops only, so a linalg.generic applies `scalarOp` at every point.
static Value complexElementwise(OpBuilder &b, Location loc, Value x, Value y,
                                function_ref<Value(OpBuilder &, Location, Value, Value)> scalarOp) {
  auto type = cast<RankedTensorType>(x.getType());
  Value init =
      tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x), type.getElementType());
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
  return linalg::GenericOp::create(b, loc, TypeRange{type}, ValueRange{x, y}, ValueRange{init},
                                   ArrayRef<AffineMap>{identity, identity, identity}, iterators,
                                   [&](OpBuilder &nb, Location l, ValueRange args) {
                                     linalg::YieldOp::create(nb, l,
                                                             scalarOp(nb, l, args[0], args[1]));
                                   })
      .getResult(0);
}

Value kvant::gradient::addValues(OpBuilder &b, Location loc, Value x, Value y) {
  assert(x.getType() == y.getType() && "values of one type are added");
  if (!hasComplexElements(x.getType()))
    return arith::AddFOp::create(b, loc, x, y);
  if (isa<ComplexType>(x.getType()))
    return complex::AddOp::create(b, loc, x, y);
  return complexElementwise(b, loc, x, y, [](OpBuilder &nb, Location l, Value u, Value v) {
    return complex::AddOp::create(nb, l, u, v).getResult();
  });
}

Value kvant::gradient::subValues(OpBuilder &b, Location loc, Value x, Value y) {
  assert(x.getType() == y.getType() && "values of one type are subtracted");
  if (!hasComplexElements(x.getType()))
    return arith::SubFOp::create(b, loc, x, y);
  if (isa<ComplexType>(x.getType()))
    return complex::SubOp::create(b, loc, x, y);
  return complexElementwise(b, loc, x, y, [](OpBuilder &nb, Location l, Value u, Value v) {
    return complex::SubOp::create(nb, l, u, v).getResult();
  });
}

Value kvant::gradient::zerosLike(OpBuilder &b, Location loc, Value like) {
  auto type = dyn_cast<RankedTensorType>(like.getType());
  if (!type || type.hasStaticShape())
    return zerosOf(b, loc, like.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  Value zero = zerosOf(b, loc, type.getElementType());
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

llvm::DenseSet<Value> kvant::gradient::dependentValues(ArrayRef<Value> seeds,
                                                       function_ref<bool(OpOperand &)> follow) {
  llvm::DenseSet<Value> found(seeds.begin(), seeds.end());
  SmallVector<Value> worklist(seeds);
  auto add = [&](Value v) {
    if (isDifferentiableType(v.getType()) && found.insert(v).second)
      worklist.push_back(v);
  };
  auto addAll = [&](auto &&values) {
    for (Value v : values)
      add(v);
  };
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      if (follow && !follow(use))
        continue;
      Operation *user = use.getOwner();
      unsigned k = use.getOperandNumber();
      Operation *parent = user->getParentOp();
      if (isa<scf::YieldOp>(user) && isa<scf::ForOp>(parent)) {
        add(parent->getResult(k));
        add(cast<scf::ForOp>(parent).getRegionIterArgs()[k]);
      } else if (isa<scf::YieldOp>(user) && isa<scf::WhileOp>(parent)) {
        add(cast<scf::WhileOp>(parent).getBeforeArguments()[k]);
      } else if (auto condition = dyn_cast<scf::ConditionOp>(user)) {
        if (k == 0)
          continue;
        add(cast<scf::WhileOp>(parent).getAfterArguments()[k - 1]);
        add(parent->getResult(k - 1));
      } else if (isa<scf::YieldOp>(user) && isa<scf::IfOp, scf::IndexSwitchOp>(parent)) {
        add(parent->getResult(k));
      } else if (user->hasTrait<OpTrait::IsTerminator>()) {
        if (parent)
          addAll(parent->getResults()); // a branch's or a linalg body's result
      } else if (auto loop = dyn_cast<scf::ForOp>(user)) {
        if (k < loop.getNumControlOperands())
          continue;
        add(loop.getRegionIterArgs()[k - loop.getNumControlOperands()]);
        add(loop.getResult(k - loop.getNumControlOperands())); // no iteration
      } else if (auto loop = dyn_cast<scf::WhileOp>(user)) {
        add(loop.getBeforeArguments()[k]);
      } else {
        addAll(user->getResults());
        for (Region &region : user->getRegions()) // linalg bodies: arguments per operand
          for (Block &block : region)
            addAll(block.getArguments());
      }
    }
  }
  return found;
}

SmallVector<Value> kvant::gradient::capturedDifferentiable(Operation *op) {
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  SmallVector<Value> out;
  for (Value v : captured)
    if (isDifferentiableType(v.getType()))
      out.push_back(v);
  return out;
}

void ReverseSweep::accumulate(Value value, Value ct) {
  if (!ct || !isDifferentiableType(value.getType()))
    return;
  assert(ct.getType() == value.getType() && "a cotangent has the type of its value");
  Value &slot = cotangents[value];
  slot = slot ? addValues(b, value.getLoc(), slot, ct) : ct;
}

void ReverseSweep::accumulateSlice(Value value, Value ct, ArrayRef<OpFoldResult> offsets,
                                   ArrayRef<OpFoldResult> sizes, ArrayRef<OpFoldResult> strides) {
  if (!ct || !isDifferentiableType(value.getType()))
    return;
  Location loc = value.getLoc();
  flushElements(value);
  Value &slot = cotangents[value];
  Value base = slot ? slot : zerosLike(b, loc, value);
  Value sum = ct;
  if (slot)
    sum = addValues(b, loc,
                    tensor::ExtractSliceOp::create(b, loc, cast<RankedTensorType>(ct.getType()),
                                                   slot, offsets, sizes, strides),
                    ct);
  slot = tensor::InsertSliceOp::create(b, loc, sum, base, offsets, sizes, strides);
}

/// Tensors up to this many elements gather element cotangents into one from_elements.
constexpr int64_t kMaxGatheredElements = 4096;

void ReverseSweep::accumulateElement(Value value, Value ct, ValueRange indices) {
  if (!ct || !isDifferentiableType(value.getType()))
    return;
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> position;
  for (Value index : indices)
    if (std::optional<int64_t> constant = getConstantIntValue(index))
      position.push_back(*constant);
  if (type.hasStaticShape() && type.getNumElements() <= kMaxGatheredElements &&
      position.size() == indices.size()) {
    int64_t linear = 0;
    for (auto [i, size] : llvm::zip(position, type.getShape()))
      linear = linear * size + i;
    elements[value].push_back({linear, ct});
    return;
  }
  indexedElements[value].push_back({SmallVector<Value>(indices), ct});
}

/// Indexed element cotangents of one tensor, from this many on, are added in one loop over a
/// table of their indices and values rather than by a chain of tensor.insert ops: one-shot
/// bufferization decides each insert of a chain against every other use of the chain (a 500-gate
/// loop body, whose reverse had such a chain, took 52 s to bufferize; 1,000 gates: 680 s).
constexpr size_t kMinLoopedElements = 16;

void ReverseSweep::flushIndexedElements(Value value) {
  auto it = indexedElements.find(value);
  if (it == indexedElements.end())
    return;
  SmallVector<std::pair<SmallVector<Value>, Value>> items = std::move(it->second);
  indexedElements.erase(it);
  Location loc = value.getLoc();
  Value &slot = cotangents[value];
  if (items.size() < kMinLoopedElements) {
    for (auto &[indices, ct] : items) {
      Value base = slot ? slot : zerosLike(b, loc, value);
      Value sum = ct;
      if (slot)
        sum = addValues(b, loc, tensor::ExtractOp::create(b, loc, slot, indices), ct);
      slot = tensor::InsertOp::create(b, loc, sum, base, indices);
    }
    return;
  }
  auto type = cast<RankedTensorType>(value.getType());
  int64_t count = items.size(), rank = type.getRank();
  SmallVector<Value> values, positions;
  for (auto &[indices, ct] : items) {
    values.push_back(ct);
    llvm::append_range(positions, indices);
  }
  Value valueTable = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({count}, type.getElementType()), values);
  Value indexTable = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({count, rank}, b.getIndexType()), positions);
  Value base = slot ? slot : zerosLike(b, loc, value);
  auto constant = [&](OpBuilder &at, int64_t i) -> Value {
    return arith::ConstantIndexOp::create(at, loc, i);
  };
  // In the order the contributions came, as the chain would have added them.
  auto loop = scf::ForOp::create(
      b, loc, constant(b, 0), constant(b, count), constant(b, 1), ValueRange{base},
      [&](OpBuilder &lb, Location l, Value k, ValueRange acc) {
        SmallVector<Value> at;
        for (int64_t d = 0; d < rank; ++d)
          at.push_back(
              tensor::ExtractOp::create(lb, l, indexTable, ValueRange{k, constant(lb, d)}));
        Value ct = tensor::ExtractOp::create(lb, l, valueTable, ValueRange{k});
        Value sum = addValues(lb, l, tensor::ExtractOp::create(lb, l, acc[0], at), ct);
        scf::YieldOp::create(lb, l, ValueRange{tensor::InsertOp::create(lb, l, sum, acc[0], at)});
      });
  slot = loop.getResult(0);
}

void ReverseSweep::flushElements(Value value) {
  flushConstantElements(value);
  flushIndexedElements(value);
}

void ReverseSweep::flushConstantElements(Value value) {
  auto it = elements.find(value);
  if (it == elements.end())
    return;
  SmallVector<std::pair<int64_t, Value>> items = std::move(it->second);
  elements.erase(it);
  auto type = cast<RankedTensorType>(value.getType());
  Location loc = value.getLoc();
  SmallVector<Value> sums(type.getNumElements());
  for (auto [linear, ct] : items)
    sums[linear] = sums[linear] ? addValues(b, loc, sums[linear], ct) : ct;
  Value &slot = cotangents[value];
  SmallVector<int64_t> strides = computeStrides(type.getShape());
  if (!slot) {
    Value zero = zerosOf(b, loc, type.getElementType());
    for (Value &element : sums)
      if (!element)
        element = zero;
    slot = tensor::FromElementsOp::create(b, loc, type, sums);
    return;
  }
  for (auto [linear, sum] : llvm::enumerate(sums)) { // dense and element cotangents both
    if (!sum)
      continue;
    SmallVector<Value> index;
    for (int64_t i : delinearize(int64_t(linear), strides))
      index.push_back(arith::ConstantIndexOp::create(b, loc, i));
    Value old = tensor::ExtractOp::create(b, loc, slot, index);
    slot = tensor::InsertOp::create(b, loc, addValues(b, loc, old, sum), slot, index);
  }
}

Value ReverseSweep::cotangent(Value value) {
  flushElements(value);
  return cotangents.lookup(value);
}

Value ReverseSweep::cotangentOrZeros(Value value, Location loc) {
  if (Value ct = cotangent(value))
    return ct;
  return zerosLike(b, loc, value);
}

LogicalResult ReverseSweep::reverseElementwise(Operation *op, ScalarRule rule, Value ct) {
  Location loc = op->getLoc();
  Value result = op->getResult(0);
  unsigned n = op->getNumOperands();
  auto tensorType = dyn_cast<RankedTensorType>(result.getType());

  if (!tensorType) { // scalars
    SmallVector<Value> cts(n);
    rule(b, loc, op->getOperands(), result, ct, cts);
    for (unsigned i = 0; i < n; ++i)
      accumulate(op->getOperand(i), cts[i]);
    return success();
  }

  if (tensorType.getRank() == 0) { // through the element, which scalarize-rank0 keeps scalar
    auto element = [&](Value v) -> Value { // a scalar operand (a select's i1) is already one
      return isa<RankedTensorType>(v.getType())
                 ? tensor::ExtractOp::create(b, loc, v, ValueRange{}).getResult()
                 : v;
    };
    SmallVector<Value> operands;
    for (Value operand : op->getOperands())
      operands.push_back(element(operand));
    SmallVector<Value> cts(n);
    rule(b, loc, operands, element(result), element(ct), cts);
    for (unsigned i = 0; i < n; ++i)
      if (cts[i])
        accumulate(op->getOperand(i),
                   tensor::FromElementsOp::create(b, loc, op->getOperand(i).getType(), cts[i]));
    return success();
  }

  // Other tensors: one linalg.generic computes every operand's cotangent point by point.
  SmallVector<unsigned> targets;
  for (unsigned i = 0; i < n; ++i)
    if (isDifferentiableType(op->getOperand(i).getType()))
      targets.push_back(i);
  if (targets.empty())
    return success();
  if (!tensorType.hasStaticShape())
    return op->emitError("kvant cannot differentiate ops on tensors of dynamic shape");
  SmallVector<Value> inputs(op->getOperands());
  inputs.push_back(result);
  inputs.push_back(ct);
  SmallVector<Value> outputs;
  SmallVector<Type> outputTypes;
  for (unsigned i : targets) {
    auto type = cast<RankedTensorType>(op->getOperand(i).getType());
    outputs.push_back(tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType()));
    outputTypes.push_back(type);
  }
  AffineMap identity = b.getMultiDimIdentityMap(tensorType.getRank());
  // A scalar operand (arith.select's condition may be one) is the same at every point.
  AffineMap scalar = AffineMap::get(tensorType.getRank(), 0, b.getContext());
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(isa<ShapedType>(input.getType()) ? identity : scalar);
  maps.append(outputs.size(), identity);
  SmallVector<utils::IteratorType> iterators(tensorType.getRank(), utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, outputTypes, inputs, outputs, maps, iterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        SmallVector<Value> cts(n);
        rule(nb, l, args.take_front(n), args[n], args[n + 1], cts);
        SmallVector<Value> yielded;
        for (unsigned i : targets)
          yielded.push_back(cts[i] ? cts[i] : zerosOf(nb, l, args[i].getType()));
        linalg::YieldOp::create(nb, l, yielded);
      });
  for (auto [k, i] : llvm::enumerate(targets))
    accumulate(op->getOperand(i), generic.getResult(k));
  return success();
}

static bool capturesDifferentiableValues(Operation *op) {
  if (op->getNumRegions() == 0)
    return false;
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  return llvm::any_of(captured, [](Value v) { return isDifferentiableType(v.getType()); });
}

LogicalResult ReverseSweep::run(ArrayRef<Operation *> ops) {
  for (Operation *op : llvm::reverse(ops)) {
    SmallVector<Value> resultCts;
    bool any = false;
    for (Value result : op->getResults()) {
      resultCts.push_back(cotangent(result));
      any |= bool(resultCts.back());
    }
    if (!any)
      continue;
    // Nothing flows back into an op without differentiable inputs (constants, tensor.empty,
    // conversions from integers, ...); values an op's regions capture are inputs too.
    if (llvm::none_of(op->getOperandTypes(), isDifferentiableType) &&
        !capturesDifferentiableValues(op))
      continue;
    StringRef name = op->getName().getStringRef();
    if (auto it = table.scalar.find(name); it != table.scalar.end() && op->getNumResults() == 1) {
      if (failed(reverseElementwise(op, it->second, resultCts[0])))
        return failure();
      continue;
    }
    if (auto it = table.ops.find(name); it != table.ops.end()) {
      if (failed(it->second(*this, op, resultCts)))
        return failure();
      continue;
    }
    auto call = dyn_cast<CallOpInterface>(op);
    auto symbol = call ? dyn_cast<SymbolRefAttr>(call.getCallableForCallee()) : SymbolRefAttr();
    if (symbol) {
      Operation *callee = call.resolveCallable();
      auto rule = llvm::find_if(table.callees, [&](const auto &entry) {
        return callee && callee->hasAttr(entry.getKey());
      });
      if (rule == table.callees.end())
        return op->emitError() << "kvant cannot differentiate this call of '"
                               << symbol.getLeafReference().getValue() << "'";
      if (failed(rule->getValue()(*this, op, resultCts)))
        return failure();
      continue;
    }
    return op->emitError() << "kvant has no derivative rule for '" << name
                           << "' (method=\"auto\"); method=\"fd\" differentiates any program";
  }
  return success();
}

FailureOr<ReversedBlock> kvant::gradient::reverseBlock(OpBuilder &b, const RuleTable &rules,
                                                       Block &block, ValueRange args,
                                                       ArrayRef<Value> yieldCts,
                                                       ArrayRef<Value> captured) {
  IRMapping mapping;
  mapping.map(block.getArguments(), args);
  SmallVector<Operation *> forward;
  for (Operation &op : block.without_terminator())
    forward.push_back(b.clone(op, mapping));
  ReverseSweep sweep(b, rules);
  for (auto [yielded, ct] : llvm::zip(block.getTerminator()->getOperands(), yieldCts))
    sweep.accumulate(mapping.lookupOrDefault(yielded), ct);
  if (failed(sweep.run(forward)))
    return failure();
  ReversedBlock out;
  for (Value a : args)
    out.argCts.push_back(sweep.cotangent(a));
  for (Value c : captured)
    out.capturedCts.push_back(sweep.cotangent(c));
  return out;
}
