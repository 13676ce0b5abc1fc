//===- QuantumDerivatives.cpp - QNode calls in reverse-mode derivatives ---------------===//
//
// See QuantumDerivatives.h for the split of a QNode into its skeleton and its circuit. For a
// QNode @q the circuit function is
//
//   func.func private @q.with_jacobian(%p: tensor<Gxf64>, <q's arguments>)
//       -> (<q's results>, tensor<KxGxf64>) attributes {kvant.circuit_with_jacobian}
//
// a copy of @q whose k-th gate parameter is read from %p[k], whose register records its gates
// (quantum.alloc {record_tape}), and which returns d<obs_r>/dp from quantum.adjoint_jacobian
// next to the K expectation values it returns.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/Transforms/QuantumDerivatives.h"
#include "kvant/Gradient/Transforms/ReverseMode.h"
#include "kvant/Quantum/IR/QuantumOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace kvant::gradient;
namespace quantum = kvant::quantum;

namespace {

constexpr StringLiteral kCircuitAttr = "kvant.circuit_with_jacobian";

/// What the derivative needs to know about a QNode's body.
struct Circuit {
  SmallVector<quantum::CustomOp> gates;     // in the order they run
  SmallVector<quantum::ExpvalOp> measured;  // the expectation value behind each result
  int64_t numParams = 0;
};

bool isQuantumOp(Operation *op) { return isa<quantum::QuantumDialect>(op->getDialect()); }

/// The QNode's name in the user's program (the frontend names its function qnode_<name>).
StringRef displayName(func::FuncOp qnode) {
  StringRef name = qnode.getSymName();
  name.consume_front("qnode_");
  return name;
}

FailureOr<Circuit> analyse(func::FuncOp qnode, Operation *callSite) {
  StringRef name = displayName(qnode);
  auto method = qnode->getAttrOfType<StringAttr>("quantum.diff_method");
  StringRef diffMethod = method ? method.getValue() : "best";
  if (diffMethod == "parameter-shift")
    return callSite->emitError() << "QNode '" << name << "': diff_method=\"parameter-shift\" is "
                                 << "not differentiated by method=\"auto\" yet; use "
                                 << "diff_method=\"adjoint\" or method=\"fd\"";
  if (diffMethod != "adjoint" && diffMethod != "best")
    return callSite->emitError() << "QNode '" << name << "': diff_method=\"" << diffMethod
                                 << "\" cannot be used with method=\"auto\"";
  if (!qnode.getBody().hasOneBlock())
    return callSite->emitError() << "QNode '" << name << "' has several blocks";
  Block &body = qnode.getBody().front();
  Circuit circuit;
  for (Operation &op : body) {
    if (op.getNumRegions() != 0) {
      bool quantumInside =
          op.walk([](Operation *inner) {
              return isQuantumOp(inner) ? WalkResult::interrupt() : WalkResult::advance();
            }).wasInterrupted();
      if (quantumInside)
        return callSite->emitError()
               << "QNode '" << name << "': method=\"auto\" does not differentiate control flow "
               << "around gates yet; use method=\"fd\"";
    }
    if (isa<quantum::MeasureOp>(op))
      return callSite->emitError() << "QNode '" << name << "': a mid-circuit measurement is "
                                   << "not differentiable with the adjoint method";
    if (isa<quantum::SampleOp, quantum::CountsOp>(op))
      return callSite->emitError() << "QNode '" << name << "': samples are not differentiable";
    if (auto gate = dyn_cast<quantum::CustomOp>(op)) {
      circuit.gates.push_back(gate);
      circuit.numParams += gate.getParams().size();
    }
  }
  for (Value result : body.getTerminator()->getOperands()) {
    auto from = result.getDefiningOp<tensor::FromElementsOp>();
    auto expval = from && from.getElements().size() == 1
                      ? from.getElements()[0].getDefiningOp<quantum::ExpvalOp>()
                      : quantum::ExpvalOp();
    if (!expval)
      return callSite->emitError() << "QNode '" << name << "': method=\"auto\" differentiates "
                                   << "QNodes that return expectation values (for now)";
    circuit.measured.push_back(expval);
  }
  return circuit;
}

/// @q.with_jacobian, built on first use.
FailureOr<func::FuncOp> circuitWithJacobian(func::FuncOp qnode, const Circuit &circuit,
                                            SymbolTableCollection &symbols) {
  auto module = qnode->getParentOfType<ModuleOp>();
  MLIRContext *ctx = qnode.getContext();
  std::string name = (qnode.getSymName() + ".with_jacobian").str();
  if (auto existing =
          symbols.lookupNearestSymbolFrom<func::FuncOp>(module, StringAttr::get(ctx, name)))
    return existing;

  OpBuilder b(qnode);
  Location loc = qnode.getLoc();
  auto f64 = b.getF64Type();
  auto paramsType = RankedTensorType::get({circuit.numParams}, f64);
  auto jacobianType =
      RankedTensorType::get({int64_t(circuit.measured.size()), circuit.numParams}, f64);
  SmallVector<Type> inputs{paramsType};
  llvm::append_range(inputs, qnode.getFunctionType().getInputs());
  SmallVector<Type> results(qnode.getFunctionType().getResults());
  results.push_back(jacobianType);
  auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(inputs, results));
  fn.setPrivate();
  fn->setAttr(kCircuitAttr, b.getUnitAttr());
  fn->setAttr("llvm.linkage", LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value params = entry->getArgument(0);

  IRMapping mapping;
  mapping.map(qnode.getArguments(), entry->getArguments().drop_front());
  Block &body = qnode.getBody().front();
  int64_t k = 0;
  Value jacobian;
  for (Operation &op : body.without_terminator()) {
    Operation *clone = b.clone(op, mapping);
    if (auto alloc = dyn_cast<quantum::AllocOp>(clone))
      alloc.setRecordTape(true);
    if (auto gate = dyn_cast<quantum::CustomOp>(clone)) {
      // The k-th parameter of the circuit, whatever the QNode computed it from.
      OpBuilder before(gate);
      for (unsigned i = 0, n = gate.getParams().size(); i < n; ++i, ++k) {
        Value index = arith::ConstantIndexOp::create(before, loc, k);
        gate->setOperand(i, tensor::ExtractOp::create(before, loc, params, ValueRange{index}));
      }
    }
    if (isa<quantum::DeallocOp>(clone)) {
      // The derivatives are taken before the register goes away.
      OpBuilder before(clone);
      SmallVector<Value> observables;
      for (quantum::ExpvalOp expval : circuit.measured)
        observables.push_back(mapping.lookup(expval.getObs()));
      jacobian = quantum::AdjointJacobianOp::create(before, loc, jacobianType, observables);
    }
  }
  SmallVector<Value> returned;
  for (Value v : body.getTerminator()->getOperands())
    returned.push_back(mapping.lookup(v));
  if (!jacobian)
    return qnode.emitError("a QNode without quantum.dealloc");
  returned.push_back(jacobian);
  func::ReturnOp::create(b, loc, returned);
  symbols.getSymbolTable(module).insert(fn);
  return fn;
}

/// The rule of a call of @q.with_jacobian: p̄ = Σ_r ȳ_r J[r, :].
LogicalResult circuitCallRule(ReverseSweep &s, Operation *op, ArrayRef<Value> cts) {
  auto call = cast<func::CallOp>(op);
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(op, call.getCalleeAttr());
  if (!callee || !callee->hasAttr(kCircuitAttr))
    return op->emitError() << "kvant cannot differentiate this call of '" << call.getCallee()
                           << "'";
  unsigned numResults = op->getNumResults() - 1;
  if (cts[numResults])
    return op->emitError("kvant cannot take second derivatives of QNodes with method=\"auto\" "
                         "yet; nest method=\"fd\" for the outer derivative");
  Value jacobian = op->getResult(numResults);
  auto jacobianType = cast<RankedTensorType>(jacobian.getType());
  int64_t numParams = jacobianType.getDimSize(1);
  if (numParams == 0)
    return success();
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  Type f64 = b.getF64Type();
  SmallVector<Value> weights;
  for (unsigned r = 0; r < numResults; ++r)
    weights.push_back(cts[r] ? tensor::ExtractOp::create(b, loc, cts[r], ValueRange{}).getResult()
                             : constantOf(b, loc, f64, 0.0));
  Value ybar = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({int64_t(numResults)}, f64), weights);
  MLIRContext *ctx = b.getContext();
  AffineExpr r = getAffineDimExpr(0, ctx), p = getAffineDimExpr(1, ctx);
  auto product = linalg::GenericOp::create(
      b, loc, TypeRange{RankedTensorType::get({numParams}, f64)}, ValueRange{ybar, jacobian},
      ValueRange{zerosOf(b, loc, RankedTensorType::get({numParams}, f64))},
      ArrayRef<AffineMap>{AffineMap::get(2, 0, {r}, ctx), AffineMap::get(2, 0, {r, p}, ctx),
                          AffineMap::get(2, 0, {p}, ctx)},
      ArrayRef<utils::IteratorType>{utils::IteratorType::reduction, utils::IteratorType::parallel},
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value term = arith::MulFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], term)});
      });
  s.accumulate(call.getOperand(0), product.getResult(0));
  return success();
}

} // namespace

FailureOr<SmallVector<Value>>
kvant::gradient::inlineQNodeCall(OpBuilder &b, Operation *site, func::FuncOp qnode,
                                 ValueRange args, SymbolTableCollection &symbols,
                                 SmallVectorImpl<Operation *> &forward) {
  FailureOr<Circuit> circuit = analyse(qnode, site);
  if (failed(circuit))
    return failure();

  // The skeleton: the classical ops the gate parameters are computed from, in body order.
  Block &body = qnode.getBody().front();
  llvm::SetVector<Operation *> skeleton;
  SmallVector<Value> params;
  for (quantum::CustomOp gate : circuit->gates)
    llvm::append_range(params, gate.getParams());
  SmallVector<Value> worklist(params);
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || !skeleton.insert(def))
      continue;
    if (isQuantumOp(def))
      return site->emitError() << "QNode '" << displayName(qnode) << "': a gate parameter "
                              << "depends on a measurement, which method=\"auto\" cannot "
                              << "differentiate";
    llvm::append_range(worklist, def->getOperands());
    def->walk([&](Operation *inner) { // values the op's regions capture
      for (Value v : inner->getOperands())
        if (v.getParentBlock() == &body)
          worklist.push_back(v);
    });
  }
  IRMapping mapping;
  mapping.map(qnode.getArguments(), args);
  Location loc = site->getLoc();
  for (Operation &op : body.without_terminator())
    if (skeleton.contains(&op))
      forward.push_back(b.clone(op, mapping));
  auto paramsType = RankedTensorType::get({circuit->numParams}, b.getF64Type());
  Value p;
  if (params.empty()) {
    p = tensor::EmptyOp::create(b, loc, paramsType.getShape(), paramsType.getElementType());
  } else {
    SmallVector<Value> mapped;
    for (Value v : params)
      mapped.push_back(mapping.lookupOrDefault(v));
    p = tensor::FromElementsOp::create(b, loc, paramsType, mapped);
  }
  forward.push_back(p.getDefiningOp());

  FailureOr<func::FuncOp> fn = circuitWithJacobian(qnode, *circuit, symbols);
  if (failed(fn))
    return failure();
  SmallVector<Value> operands{p};
  llvm::append_range(operands, args);
  auto circuitCall = func::CallOp::create(b, loc, *fn, operands);
  forward.push_back(circuitCall);
  return SmallVector<Value>(circuitCall.getResults().drop_back());
}

void kvant::gradient::addQuantumRules(llvm::StringMap<OpRule> &rules) {
  rules["func.call"] = circuitCallRule;
}
