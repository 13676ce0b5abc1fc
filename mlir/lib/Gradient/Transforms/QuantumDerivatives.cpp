//===- QuantumDerivatives.cpp - QNode calls in reverse-mode derivatives ---------------===//
//
// See QuantumDerivatives.h for the split of a QNode into its skeleton and its circuit. For a
// QNode @q the circuit function is
//
//   func.func private @q.with_jacobian.<method>(%p: tensor<Gxf64>, <q's arguments>)
//       -> (<q's results>, tensor<MxGxf64>) attributes {kvant.circuit_with_jacobian}
//
// returning, next to q's results, the Jacobian of their M elements (flattened in order) with
// respect to the G gate parameters; its k-th gate parameter is read from %p[k]:
//  - adjoint: the register records its gates (quantum.alloc {record_tape}) and
//    quantum.adjoint_jacobian asks the runtime for one backward sweep (expectation values);
//  - parameter_shift: @q.of_params(%p, args) evaluated at p shifted by +-pi/2 (two-term rule)
//    and also +-3pi/2 (four-term rule) in each entry, by the rule of the gate the entry feeds
//    (DifferentiableGate::getShiftRule); expectation values and probabilities.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/Transforms/QuantumDerivatives.h"
#include "kvant/Gradient/Transforms/ReverseMode.h"
#include "kvant/Gradient/Transforms/TensorUtils.h"
#include "kvant/Quantum/IR/QuantumOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/SetVector.h"

#include <cmath>

using namespace mlir;
using namespace kvant::gradient;
namespace quantum = kvant::quantum;

namespace {

constexpr StringLiteral kCircuitAttr = "kvant.circuit_with_jacobian";

/// What the derivative needs to know about a QNode's body.
struct Circuit {
  SmallVector<quantum::DifferentiableGate> gates; // in the order they run
  SmallVector<Operation *> measured;               // the expval or probs op behind each result
  SmallVector<int64_t> sizes;                      // elements of each result
  int64_t numParams = 0;
  int64_t numOutputs = 0;                          // sum of sizes
  bool adjoint = false;                            // else parameter-shift
};

bool isQuantumOp(Operation *op) { return isa<quantum::QuantumDialect>(op->getDialect()); }

/// The QNode's name in the user's program (the frontend names its function qnode_<name>).
StringRef displayName(func::FuncOp qnode) {
  StringRef name = qnode.getSymName();
  name.consume_front("qnode_");
  return name;
}

FailureOr<Circuit> analyse(func::FuncOp qnode, Operation *site) {
  StringRef name = displayName(qnode);
  auto error = [&]() { return site->emitError() << "QNode '" << name << "': "; };
  auto method = qnode->getAttrOfType<StringAttr>("quantum.diff_method");
  StringRef diffMethod = method ? method.getValue() : "best";
  if (diffMethod != "adjoint" && diffMethod != "best" && diffMethod != "parameter-shift")
    return error() << "diff_method=\"" << diffMethod << "\" cannot be used with method=\"auto\"";
  if (!qnode.getBody().hasOneBlock())
    return error() << "a QNode with several blocks";
  Block &body = qnode.getBody().front();
  Circuit circuit;
  for (Operation &op : body) {
    if (op.getNumRegions() != 0) {
      bool quantumInside =
          op.walk([](Operation *inner) {
              return isQuantumOp(inner) ? WalkResult::interrupt() : WalkResult::advance();
            }).wasInterrupted();
      if (quantumInside)
        return error() << "method=\"auto\" does not differentiate control flow around gates "
                       << "yet; use method=\"fd\"";
    }
    if (isa<quantum::MeasureOp>(op))
      return error() << "a mid-circuit measurement is not differentiable with method=\"auto\"";
    if (isa<quantum::SampleOp, quantum::CountsOp>(op))
      return error() << "samples are not differentiable";
    if (auto gate = dyn_cast<quantum::DifferentiableGate>(op)) {
      circuit.gates.push_back(gate);
      circuit.numParams += gate.getDiffParams().size();
    }
  }
  bool allExpval = true;
  for (Value result : body.getTerminator()->getOperands()) {
    Operation *measured = nullptr;
    if (auto from = result.getDefiningOp<tensor::FromElementsOp>();
        from && from.getElements().size() == 1)
      measured = from.getElements()[0].getDefiningOp<quantum::ExpvalOp>();
    if (!measured)
      measured = result.getDefiningOp<quantum::ProbsOp>();
    if (!measured)
      return error() << "method=\"auto\" differentiates QNodes that return expectation values "
                     << "and probabilities (for now)";
    allExpval &= isa<quantum::ExpvalOp>(measured);
    circuit.measured.push_back(measured);
    circuit.sizes.push_back(cast<RankedTensorType>(result.getType()).getNumElements());
    circuit.numOutputs += circuit.sizes.back();
  }
  // "best": the adjoint method on kvant's simulator when every measurement allows it.
  circuit.adjoint = diffMethod == "adjoint" || (diffMethod == "best" && allExpval);
  if (circuit.adjoint && !allExpval)
    return error() << "the adjoint method differentiates expectation values; use "
                   << "diff_method=\"parameter-shift\" for probabilities";
  if (!circuit.adjoint)
    for (quantum::DifferentiableGate gate : circuit.gates)
      for (unsigned i = 0, n = gate.getDiffParams().size(); i < n; ++i)
        if (!gate.getShiftRule(i))
          return error() << "no parameter-shift rule for gate '"
                         << gate->getAttrOfType<StringAttr>("gate_name").getValue() << "'";
  return circuit;
}

/// A private function next to `qnode` named `<qnode>.<suffix>`, or the existing one.
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
  symbols.getSymbolTable(module).insert(fn);
  return {fn, true};
}

/// Clones `qnode`'s body (without its return) into `fn`, whose argument 0 is the parameter
/// vector p and the rest are the QNode's arguments; the k-th gate parameter is read from p[k].
/// `atDealloc` runs just before the clone of quantum.dealloc. Returns the returned values.
SmallVector<Value> cloneCircuitOfP(func::FuncOp qnode, func::FuncOp fn, OpBuilder &b,
                                   function_ref<void(OpBuilder &, IRMapping &)> atDealloc,
                                   bool recordTape) {
  Block *entry = &fn.getBody().front();
  b.setInsertionPointToStart(entry);
  Value params = entry->getArgument(0);
  Location loc = qnode.getLoc();
  IRMapping mapping;
  mapping.map(qnode.getArguments(), entry->getArguments().drop_front());
  Block &body = qnode.getBody().front();
  int64_t k = 0;
  for (Operation &op : body.without_terminator()) {
    if (isa<quantum::DeallocOp>(op))
      atDealloc(b, mapping);
    Operation *clone = b.clone(op, mapping);
    if (auto alloc = dyn_cast<quantum::AllocOp>(clone))
      alloc.setRecordTape(recordTape);
    if (auto gate = dyn_cast<quantum::DifferentiableGate>(clone)) {
      OpBuilder before(clone);
      for (OpOperand &param : gate.getDiffParamsMutable()) {
        Value index = arith::ConstantIndexOp::create(before, loc, k++);
        param.set(tensor::ExtractOp::create(before, loc, params, ValueRange{index}));
      }
    }
  }
  SmallVector<Value> returned;
  for (Value v : body.getTerminator()->getOperands())
    returned.push_back(mapping.lookup(v));
  return returned;
}

/// The results of a circuit call as one vector of numOutputs elements.
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

/// Adjoint method: the circuit records its gates and asks the runtime for d<obs_r>/dp.
func::FuncOp adjointCircuit(func::FuncOp qnode, const Circuit &circuit,
                            SymbolTableCollection &symbols) {
  OpBuilder b(qnode);
  auto [fn, created] = getOrCreateFunction(qnode, "with_jacobian.adjoint",
                                           circuitType(b, qnode, circuit, true), symbols);
  if (!created)
    return fn;
  fn->setAttr(kCircuitAttr, b.getUnitAttr());
  Value jacobian;
  Type jacobianType = fn.getFunctionType().getResults().back();
  SmallVector<Value> returned = cloneCircuitOfP(
      qnode, fn, b,
      [&](OpBuilder &at, IRMapping &mapping) {
        SmallVector<Value> observables;
        for (Operation *expval : circuit.measured)
          observables.push_back(mapping.lookup(cast<quantum::ExpvalOp>(expval).getObs()));
        jacobian = quantum::AdjointJacobianOp::create(at, qnode.getLoc(), jacobianType,
                                                      observables);
      },
      /*recordTape=*/true);
  returned.push_back(jacobian);
  func::ReturnOp::create(b, qnode.getLoc(), returned);
  return fn;
}

/// Parameter-shift: the circuit of p, evaluated at p and at shifted copies of p.
func::FuncOp shiftCircuit(func::FuncOp qnode, const Circuit &circuit,
                          SymbolTableCollection &symbols) {
  OpBuilder b(qnode);
  auto [ofP, createdOfP] = getOrCreateFunction(qnode, "of_params",
                                               circuitType(b, qnode, circuit, false), symbols);
  Location loc = qnode.getLoc();
  if (createdOfP) {
    SmallVector<Value> returned =
        cloneCircuitOfP(qnode, ofP, b, [](OpBuilder &, IRMapping &) {}, false);
    func::ReturnOp::create(b, loc, returned);
  }
  auto [fn, created] = getOrCreateFunction(qnode, "with_jacobian.parameter_shift",
                                           circuitType(b, qnode, circuit, true), symbols);
  if (!created)
    return fn;
  fn->setAttr(kCircuitAttr, b.getUnitAttr());
  Block *entry = &fn.getBody().front();
  b.setInsertionPointToStart(entry);
  Value params = entry->getArgument(0);
  ValueRange args = entry->getArguments().drop_front();
  auto f64 = b.getF64Type();
  int64_t m = circuit.numOutputs, g = circuit.numParams;

  auto evaluate = [&](OpBuilder &at, Value p) {
    SmallVector<Value> operands{p};
    llvm::append_range(operands, args);
    return func::CallOp::create(at, loc, ofP, operands);
  };
  auto values = evaluate(b, params);
  SmallVector<Value> returned(values.getResults());

  // One rule per parameter, known statically: 1 = four-term.
  SmallVector<int8_t> fourTerm;
  for (quantum::DifferentiableGate gate : circuit.gates)
    for (unsigned i = 0, n = gate.getDiffParams().size(); i < n; ++i)
      fourTerm.push_back(*gate.getShiftRule(i) == quantum::ShiftRule::FourTerm);
  auto rulesType = RankedTensorType::get({g}, b.getI8Type());
  Value rules = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(rulesType, ArrayRef(fourTerm)));

  auto columnType = RankedTensorType::get({m}, f64);
  Value transposedInit = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{g, m}, f64);
  Value lower = arith::ConstantIndexOp::create(b, loc, 0);
  Value upper = arith::ConstantIndexOp::create(b, loc, g);
  Value step = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, lower, upper, step, ValueRange{transposedInit},
      [&](OpBuilder &lb, Location l, Value k, ValueRange acc) {
        Value pk = tensor::ExtractOp::create(lb, l, params, ValueRange{k});
        auto at = [&](OpBuilder &ob, double shift) {
          Value shifted = arith::AddFOp::create(ob, l, pk, constantOf(ob, l, f64, shift));
          Value p = tensor::InsertOp::create(ob, l, shifted, params, ValueRange{k});
          return flatten(ob, l, evaluate(ob, p).getResults());
        };
        // f(t + pi/2) - f(t - pi/2): both rules start from it.
        Value near = arith::SubFOp::create(lb, l, at(lb, M_PI_2), at(lb, -M_PI_2));
        Value rule = tensor::ExtractOp::create(lb, l, rules, ValueRange{k});
        Value isFour = arith::CmpIOp::create(lb, l, arith::CmpIPredicate::ne, rule,
                                             arith::ConstantIntOp::create(lb, l, 0, 8));
        auto branch = scf::IfOp::create(
            lb, l, isFour,
            [&](OpBuilder &tb, Location tl) {
              double cPlus = (std::sqrt(2.0) + 1) / (4 * std::sqrt(2.0));
              double cMinus = (std::sqrt(2.0) - 1) / (4 * std::sqrt(2.0));
              Value far = arith::SubFOp::create(tb, tl, at(tb, 3 * M_PI_2), at(tb, -3 * M_PI_2));
              Value column = arith::SubFOp::create(
                  tb, tl, arith::MulFOp::create(tb, tl, near, constantOf(tb, tl, columnType, cPlus)),
                  arith::MulFOp::create(tb, tl, far, constantOf(tb, tl, columnType, cMinus)));
              scf::YieldOp::create(tb, tl, column);
            },
            [&](OpBuilder &eb, Location el) {
              scf::YieldOp::create(
                  eb, el, ValueRange{arith::MulFOp::create(eb, el, near,
                                                           constantOf(eb, el, columnType, 0.5))});
            });
        SmallVector<OpFoldResult> offsets{k, lb.getIndexAttr(0)};
        SmallVector<OpFoldResult> sizes{lb.getIndexAttr(1), lb.getIndexAttr(m)};
        SmallVector<OpFoldResult> strides{lb.getIndexAttr(1), lb.getIndexAttr(1)};
        scf::YieldOp::create(lb, l, ValueRange{tensor::InsertSliceOp::create(
                                        lb, l, branch.getResult(0), acc[0], offsets, sizes, strides)});
      });
  Value jacobian = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{m, g}, f64);
  returned.push_back(
      linalg::TransposeOp::create(b, loc, loop.getResult(0), jacobian, ArrayRef<int64_t>{1, 0})
          .getResult()[0]);
  func::ReturnOp::create(b, loc, returned);
  return fn;
}

/// The rule of a call of a circuit with its Jacobian: p̄ = Σ_m ȳ_m J[m, :], ȳ the results'
/// cotangents flattened in order.
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
    weights.push_back(s.cotangentOrZeros(op->getResult(r), loc));
  Value ybar = flatten(b, loc, weights);
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
  for (quantum::DifferentiableGate gate : circuit->gates)
    llvm::append_range(params, gate.getDiffParams());
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

  func::FuncOp fn = circuit->adjoint ? adjointCircuit(qnode, *circuit, symbols)
                                     : shiftCircuit(qnode, *circuit, symbols);
  SmallVector<Value> operands{p};
  llvm::append_range(operands, args);
  auto circuitCall = func::CallOp::create(b, loc, fn, operands);
  forward.push_back(circuitCall);
  return SmallVector<Value>(circuitCall.getResults().drop_back());
}

void kvant::gradient::addQuantumRules(llvm::StringMap<OpRule> &rules) {
  rules["func.call"] = circuitCallRule;
}
