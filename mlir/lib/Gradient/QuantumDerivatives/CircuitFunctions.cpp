//===- CircuitFunctions.cpp - functions derived from a QNode, and what they share -----===//
//
// See CircuitFunctions.h.
//
//===----------------------------------------------------------------------------------===//

#include "CircuitFunctions.h"
#include "ParameterThreading.h"
#include "kvant/Gradient/AutoDiff/TensorUtils.h"
#include "kvant/Gradient/QuantumDerivatives/QuantumDerivatives.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace kvant::gradient;
using namespace kvant::gradient::circuits;
namespace quantum = kvant::quantum;

namespace kvant::gradient::circuits {

std::pair<func::FuncOp, bool> getOrCreateFunction(func::FuncOp qnode, StringRef suffix,
                                                  FunctionType type,
                                                  SymbolTableCollection &symbols) {
  auto module = qnode->getParentOfType<ModuleOp>();
  MLIRContext *ctx = qnode.getContext();
  std::string name = (qnode.getSymName() + "." + suffix).str();
  if (auto existing =
          symbols.lookupNearestSymbolFrom<func::FuncOp>(module, StringAttr::get(ctx, name)))
    return {existing, false};
  OpBuilder b(qnode);
  auto fn = func::FuncOp::create(b, qnode.getLoc(), name, type);
  fn.setPrivate();
  fn->setAttr("llvm.linkage", LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
  fn.addEntryBlock();
  if (llvm::any_of(type.getResults(), [](Type t) {
        auto tensor = dyn_cast<RankedTensorType>(t);
        return tensor && !tensor.hasStaticShape();
      }))
    fn->setAttr(GradientDialect::getInlineWhenExpandedAttrName(), UnitAttr::get(ctx));
  symbols.getSymbolTable(module).insert(fn);
  return {fn, true};
}

FunctionType circuitType(OpBuilder &b, func::FuncOp qnode, const Circuit &circuit,
                         bool withJacobian) {
  auto f64 = b.getF64Type();
  SmallVector<Type> inputs{RankedTensorType::get({circuit.numParams}, f64)};
  llvm::append_range(inputs, qnode.getFunctionType().getInputs());
  SmallVector<Type> results(qnode.getFunctionType().getResults());
  if (withJacobian)
    results.push_back(RankedTensorType::get({circuit.numOutputs, circuit.numParams}, f64));
  return b.getFunctionType(inputs, results);
}

void markCircuit(func::FuncOp fn, func::FuncOp qnode, CircuitRole role) {
  fn->setAttr(
      GradientDialect::getCircuitAttrName(),
      CircuitAttr::get(fn.getContext(), role, FlatSymbolRefAttr::get(qnode.getSymNameAttr())));
}

FailureOr<Value> emitParameterVector(
    OpBuilder &b, Location loc, func::FuncOp qnode, ValueRange args, const Circuit &circuit,
    Type elementType,
    function_ref<Value(OpBuilder &, quantum::DifferentiableGate, unsigned, IRMapping &)> element) {
  Block &body = qnode.getBody().front();
  IRMapping mapping;
  mapping.map(qnode.getArguments(), args);
  if (!circuit.dynamic()) {
    SmallVector<Value> elements;
    SmallVector<Value> none;
    ThreadedClone collect(/*keepQuantum=*/false,
                          [&](OpBuilder &at, quantum::DifferentiableGate gate, Operation *,
                              IRMapping &m, SmallVectorImpl<Value> &) {
                            for (unsigned i = 0, n = gate.getDiffParams().size(); i < n; ++i)
                              elements.push_back(element(at, gate, i, m));
                          });
    if (failed(collect.cloneOps(body, b, mapping, none)))
      return failure();
    auto type = RankedTensorType::get({circuit.numParams}, elementType);
    if (elements.empty())
      return tensor::EmptyOp::create(b, loc, type.getShape(), elementType).getResult();
    return tensor::FromElementsOp::create(b, loc, type, elements).getResult();
  }
  IRMapping countMapping;
  countMapping.map(qnode.getArguments(), args);
  SmallVector<Value> count{indexConstant(b, loc, 0)};
  ThreadedClone counter(/*keepQuantum=*/false, [&](OpBuilder &at, quantum::DifferentiableGate gate,
                                                   Operation *, IRMapping &,
                                                   SmallVectorImpl<Value> &state) {
    unsigned n = gate.getDiffParams().size();
    if (n != 0)
      state[0] = arith::AddIOp::create(at, loc, state[0], indexConstant(at, loc, n));
  });
  if (failed(counter.cloneOps(body, b, countMapping, count)))
    return failure();
  Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{ShapedType::kDynamic},
                                        elementType, ValueRange{count[0]});
  SmallVector<Value> state{indexConstant(b, loc, 0), empty};
  SmallVector<tensor::InsertOp> inserts; // in the order they were made
  ThreadedClone filler(/*keepQuantum=*/false, [&](OpBuilder &at, quantum::DifferentiableGate gate,
                                                  Operation *, IRMapping &m,
                                                  SmallVectorImpl<Value> &st) {
    for (unsigned i = 0, n = gate.getDiffParams().size(); i < n; ++i) {
      inserts.push_back(
          tensor::InsertOp::create(at, loc, element(at, gate, i, m), st[1], ValueRange{st[0]}));
      st[1] = inserts.back();
      st[0] = arith::AddIOp::create(at, loc, st[0], indexConstant(at, loc, 1));
    }
  });
  if (failed(filler.cloneOps(body, b, mapping, state)))
    return failure();
  batchInserts(inserts);
  return state[1];
}

/// Runs of inserts of this many elements or more become one insert_slice.
constexpr size_t kMinBatchedInserts = 16;

void batchInserts(ArrayRef<tensor::InsertOp> inserts) {
  // A run: each insert writes the result of the one before (its only use) at the next index,
  // i.e. the gates of a stretch of straight-line code between control-flow ops.
  auto continues = [](tensor::InsertOp previous, tensor::InsertOp next) {
    if (next.getDest() != previous.getResult() || !previous.getResult().hasOneUse() ||
        next->getBlock() != previous->getBlock())
      return false;
    auto step = next.getIndices()[0].getDefiningOp<arith::AddIOp>();
    return step && step.getLhs() == previous.getIndices()[0] &&
           getConstantIntValue(step.getRhs()) == 1;
  };
  size_t start = 0;
  for (size_t end = 1; end <= inserts.size(); ++end) {
    if (end < inserts.size() && continues(inserts[end - 1], inserts[end]))
      continue;
    ArrayRef<tensor::InsertOp> run = inserts.slice(start, end - start);
    start = end;
    if (run.size() < kMinBatchedInserts)
      continue;
    tensor::InsertOp first = run.front(), last = run.back();
    OpBuilder b(last);
    Location loc = last.getLoc();
    SmallVector<Value> elements;
    for (tensor::InsertOp insert : run)
      elements.push_back(insert.getScalar());
    auto type = RankedTensorType::get({int64_t(run.size())}, elements[0].getType());
    Value block = tensor::FromElementsOp::create(b, loc, type, elements);
    SmallVector<OpFoldResult> offsets{first.getIndices()[0]};
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(run.size())}, strides{b.getIndexAttr(1)};
    Value filled =
        tensor::InsertSliceOp::create(b, loc, block, first.getDest(), offsets, sizes, strides);
    last.getResult().replaceAllUsesWith(filled);
    for (tensor::InsertOp insert : llvm::reverse(run))
      insert.erase();
  }
}

FailureOr<SmallVector<Value>> cloneCircuitOfP(func::FuncOp qnode, func::FuncOp fn, OpBuilder &b,
                                              IRMapping &mapping, Value &count) {
  Block *entry = &fn.getBody().front();
  b.setInsertionPointToStart(entry);
  Value params = entry->getArgument(0);
  Location loc = qnode.getLoc();
  mapping.map(qnode.getArguments(), entry->getArguments().drop_front());
  Block &body = qnode.getBody().front();
  SmallVector<Value> state{indexConstant(b, loc, 0)};
  ThreadedClone circuitOfP(
      /*keepQuantum=*/true, [&](OpBuilder &at, quantum::DifferentiableGate, Operation *clone,
                                IRMapping &, SmallVectorImpl<Value> &st) {
        for (OpOperand &param : cast<quantum::DifferentiableGate>(clone).getDiffParamsMutable()) {
          param.set(tensor::ExtractOp::create(at, loc, params, ValueRange{st[0]}));
          st[0] = at.createOrFold<arith::AddIOp>(loc, st[0], indexConstant(at, loc, 1));
        }
      });
  if (failed(circuitOfP.cloneOps(body, b, mapping, state)))
    return failure();
  count = state[0];
  SmallVector<Value> returned;
  for (Value v : body.getTerminator()->getOperands())
    returned.push_back(mapping.lookup(v));
  return returned;
}

Value flatten(OpBuilder &b, Location loc, ValueRange results) {
  SmallVector<Value> pieces;
  for (Value r : results) {
    auto type = cast<RankedTensorType>(r.getType());
    pieces.push_back(reshapeStatic(
        b, loc, r, RankedTensorType::get({type.getNumElements()}, type.getElementType())));
  }
  if (pieces.size() == 1)
    return pieces[0];
  return tensor::ConcatOp::create(b, loc, /*dim=*/0, pieces);
}

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// Row r of a 2-D tensor, as tensor<1xN> (keepRank) or tensor<N>, N the matrix's (static or
/// dynamic) column count.
Value matrixRow(OpBuilder &b, Location loc, Value matrix, int64_t r, bool keepRank) {
  auto type = cast<RankedTensorType>(matrix.getType());
  SmallVector<int64_t> shape{type.getDimSize(1)};
  if (keepRank)
    shape.insert(shape.begin(), 1);
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(r), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), tensor::getMixedSize(b, loc, matrix, 1)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()),
                                        matrix, offsets, sizes, strides);
}

/// `scale` (a scalar) times every element of `tensor`.
Value scaled(OpBuilder &b, Location loc, Value scale, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, tensor, d));
  Value spread = tensor::SplatOp::create(b, loc, type, scale, dynamicSizes);
  return arith::MulFOp::create(b, loc, spread, tensor);
}

/// `matrix` with row `target` replaced by row target + scale * row source.
Value addScaledRow(OpBuilder &b, Location loc, Value matrix, int64_t target, int64_t source,
                   Value scale) {
  Value sum = arith::AddFOp::create(b, loc, matrixRow(b, loc, matrix, target, true),
                                    scaled(b, loc, scale, matrixRow(b, loc, matrix, source, true)));
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(target), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), tensor::getMixedSize(b, loc, matrix, 1)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, sum, matrix, offsets, sizes, strides);
}

} // namespace kvant::gradient::circuits

bool kvant::gradient::isCircuitFunction(func::FuncOp fn) { return bool(getCircuitAttr(fn)); }
