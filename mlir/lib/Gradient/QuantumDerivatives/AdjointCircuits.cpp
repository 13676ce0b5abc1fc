//===- AdjointCircuits.cpp - circuit functions of the adjoint method -----------------===//
//
// See AdjointCircuits.h.
//
//===----------------------------------------------------------------------------------===//

#include "AdjointCircuits.h"
#include "CircuitFunctions.h"
#include "kvant/Gradient/AutoDiff/ReverseMode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kvant::gradient;
namespace quantum = kvant::quantum;
using namespace kvant::gradient::circuits;

namespace {

/// The measurements of a circuit as the runtime's adjoint sweep takes them (expval 0, var 1,
/// probs 2), with the operands mapped into a clone of the QNode's body.
struct SweepMeasurements {
  SmallVector<Value> observables, qubits;
  SmallVector<int64_t> kinds, probsWires;
  bool allExpval() const {
    return llvm::all_of(kinds, [](int64_t k) { return k == 0; });
  }
  DenseI64ArrayAttr kindsAttr(OpBuilder &b) const {
    return allExpval() ? DenseI64ArrayAttr() : b.getDenseI64ArrayAttr(kinds);
  }
  DenseI64ArrayAttr probsWiresAttr(OpBuilder &b) const {
    return probsWires.empty() ? DenseI64ArrayAttr() : b.getDenseI64ArrayAttr(probsWires);
  }
};

SweepMeasurements sweepMeasurements(const Circuit &circuit, IRMapping &mapping) {
  SweepMeasurements out;
  for (auto [measured, kind] : llvm::zip(circuit.measured, circuit.kinds)) {
    if (kind == Kind::Probs) {
      auto probs = cast<quantum::ProbsOp>(measured);
      for (Value q : probs.getQubits())
        out.qubits.push_back(mapping.lookup(q));
      out.probsWires.push_back(probs.getQubits().size());
      out.kinds.push_back(2);
      continue;
    }
    Value obs = kind == Kind::Var ? cast<quantum::VarOp>(measured).getObs()
                                  : cast<quantum::ExpvalOp>(measured).getObs();
    out.observables.push_back(mapping.lookup(obs));
    out.kinds.push_back(kind == Kind::Var ? 1 : 0);
  }
  return out;
}

/// The circuit of p cloned into `fn` with its register recording the gates; `at` is placed
/// where the sweep goes (before the register is released).
struct RecordedCircuit {
  IRMapping mapping;
  Value count;                 // parameters read
  SmallVector<Value> returned; // the QNode's results
  OpBuilder at;
};

FailureOr<RecordedCircuit> cloneRecordedCircuit(func::FuncOp qnode, func::FuncOp fn) {
  OpBuilder b(fn);
  RecordedCircuit out{IRMapping(), Value(), {}, b};
  FailureOr<SmallVector<Value>> returned = cloneCircuitOfP(qnode, fn, b, out.mapping, out.count);
  if (failed(returned))
    return failure();
  out.returned = std::move(*returned);
  fn.walk([](quantum::AllocOp alloc) { alloc.setRecordTape(true); });
  quantum::DeallocOp dealloc;
  fn.walk([&](quantum::DeallocOp op) { dealloc = op; });
  if (dealloc)
    out.at.setInsertionPoint(dealloc);
  else
    out.at.setInsertionPointToEnd(&fn.getBody().front());
  return out;
}

/// `<qnode>.<suffix>` of `type`, marked with `role` (none: unmarked); when it is new, the
/// recorded circuit of p cloned into it and its measurements as the sweep takes them.
struct RecordedFunction {
  func::FuncOp fn;
  std::optional<RecordedCircuit> recorded; // none: the function existed
  SweepMeasurements measurements;
};

FailureOr<RecordedFunction> recordedFunction(func::FuncOp qnode, const Circuit &circuit,
                                             StringRef suffix, FunctionType type, CircuitRole role,
                                             SymbolTableCollection &symbols) {
  auto [fn, created] = getOrCreateFunction(qnode, suffix, type, symbols);
  RecordedFunction out{fn, std::nullopt, {}};
  if (!created)
    return out;
  markCircuit(fn, qnode, role);
  FailureOr<RecordedCircuit> recorded = cloneRecordedCircuit(qnode, fn);
  if (failed(recorded)) {
    fn.erase();
    return failure();
  }
  out.measurements = sweepMeasurements(circuit, recorded->mapping);
  out.recorded.emplace(std::move(*recorded));
  return out;
}

} // namespace

namespace kvant::gradient::circuits {

/// Adjoint method: the circuit records its gates and asks the runtime for the Jacobian of every
/// measurement entry (one vector per entry in the sweep).
FailureOr<func::FuncOp> adjointCircuit(func::FuncOp qnode, const Circuit &circuit,
                                       SymbolTableCollection &symbols) {
  OpBuilder b(qnode);
  FailureOr<RecordedFunction> made =
      recordedFunction(qnode, circuit, "with_jacobian.adjoint",
                       circuitType(b, qnode, circuit, true), CircuitRole::Jacobian, symbols);
  if (failed(made) || !made->recorded)
    return failed(made) ? FailureOr<func::FuncOp>(failure()) : made->fn;
  func::FuncOp fn = made->fn;
  std::optional<RecordedCircuit> &recorded = made->recorded;
  OpBuilder &at = recorded->at;
  SweepMeasurements &measurements = made->measurements;
  Type jacobianType = fn.getFunctionType().getResults().back();
  Value jacobian = quantum::AdjointJacobianOp::create(
      at, qnode.getLoc(), jacobianType, measurements.observables, measurements.qubits,
      circuit.dynamic() ? recorded->count : Value(), measurements.kindsAttr(at),
      measurements.probsWiresAttr(at));
  recorded->returned.push_back(jacobian);
  OpBuilder end = OpBuilder::atBlockEnd(&fn.getBody().front());
  func::ReturnOp::create(end, qnode.getLoc(), recorded->returned);
  return fn;
}

/// @q.shiftable_jacobian.adjoint(p, args) -> (<O> of each variance, J_F), as for
/// parameter-shift (shiftCircuit): one sweep gives the rows of the results and of each <O>, and
/// d<O^2> = d var + 2<O> d<O>.
FailureOr<func::FuncOp> adjointShiftableCircuit(func::FuncOp qnode, const Circuit &circuit,
                                                SymbolTableCollection &symbols) {
  OpBuilder b(qnode);
  Location loc = qnode.getLoc();
  auto f64 = b.getF64Type();
  auto scalarType = RankedTensorType::get({}, f64);
  SmallVector<int64_t> varRows; // of each variance in the flattened results
  int64_t row = 0;
  for (auto [kind, size] : llvm::zip(circuit.kinds, circuit.sizes)) {
    if (kind == Kind::Var)
      varRows.push_back(row);
    row += size;
  }
  int64_t m = circuit.numOutputs + varRows.size();
  SmallVector<Type> results(varRows.size(), scalarType);
  results.push_back(RankedTensorType::get({m, circuit.numParams}, f64));
  auto type = b.getFunctionType(circuitType(b, qnode, circuit, false).getInputs(), results);
  FailureOr<RecordedFunction> made = recordedFunction(
      qnode, circuit, "shiftable_jacobian.adjoint", type, CircuitRole::ShiftableJacobian, symbols);
  if (failed(made) || !made->recorded)
    return failed(made) ? FailureOr<func::FuncOp>(failure()) : made->fn;
  func::FuncOp fn = made->fn;
  std::optional<RecordedCircuit> &recorded = made->recorded;
  OpBuilder &at = recorded->at;
  SweepMeasurements &measurements = made->measurements;
  SmallVector<Value> expvals;
  for (auto [measured, kind] : llvm::zip(circuit.measured, circuit.kinds)) {
    if (kind != Kind::Var)
      continue;
    Value obs = recorded->mapping.lookup(cast<quantum::VarOp>(measured).getObs());
    measurements.observables.push_back(obs);
    measurements.kinds.push_back(0);
    expvals.push_back(quantum::ExpvalOp::create(at, loc, f64, obs));
  }
  Value jacobian = quantum::AdjointJacobianOp::create(
      at, loc, results.back(), measurements.observables, measurements.qubits,
      circuit.dynamic() ? recorded->count : Value(), measurements.kindsAttr(at),
      measurements.probsWiresAttr(at));
  OpBuilder end = OpBuilder::atBlockEnd(&fn.getBody().front());
  SmallVector<Value> returned;
  for (auto [j, varRow] : llvm::enumerate(varRows)) {
    Value twoE = arith::MulFOp::create(end, loc, expvals[j], constantOf(end, loc, f64, 2.0));
    jacobian = addScaledRow(end, loc, jacobian, varRow, circuit.numOutputs + j, twoE);
    returned.push_back(tensor::FromElementsOp::create(end, loc, scalarType, expvals[j]));
  }
  returned.push_back(jacobian);
  func::ReturnOp::create(end, loc, returned);
  return fn;
}

/// Adjoint method, VJP form: @q.vjp.adjoint(p, args, ȳ) -> ȳᵀ dQ/dp, ȳ the flattened cotangent
/// of the results. The sweep carries two vectors whatever the number of measurement entries,
/// against one per entry for the Jacobian; it needs the circuit run again. Measured (3-layer
/// ansatz, 16 and 20 qubits): a tie with two entries, 1.6x faster with three, 6-8x with n.
FailureOr<func::FuncOp> adjointVJPCircuit(func::FuncOp qnode, const Circuit &circuit,
                                          SymbolTableCollection &symbols) {
  OpBuilder b(qnode);
  auto f64 = b.getF64Type();
  SmallVector<Type> inputs(circuitType(b, qnode, circuit, false).getInputs());
  inputs.push_back(RankedTensorType::get({circuit.numOutputs}, f64));
  auto type = b.getFunctionType(inputs, {RankedTensorType::get({circuit.numParams}, f64)});
  FailureOr<RecordedFunction> made =
      recordedFunction(qnode, circuit, "vjp.adjoint", type, CircuitRole::VJP, symbols);
  if (failed(made) || !made->recorded)
    return failed(made) ? FailureOr<func::FuncOp>(failure()) : made->fn;
  func::FuncOp fn = made->fn;
  std::optional<RecordedCircuit> &recorded = made->recorded;
  OpBuilder &at = recorded->at;
  SweepMeasurements &measurements = made->measurements;
  Value cotangent = fn.getArguments().back();
  Value gradient = quantum::AdjointVJPOp::create(
      at, qnode.getLoc(), type.getResult(0), measurements.observables, measurements.qubits,
      cotangent, circuit.dynamic() ? recorded->count : Value(), measurements.kindsAttr(at),
      measurements.probsWiresAttr(at));
  OpBuilder end = OpBuilder::atBlockEnd(&fn.getBody().front());
  func::ReturnOp::create(end, qnode.getLoc(), gradient);
  // The results are not returned: their measurements go (the sweep reads the state itself).
  SmallVector<Value> worklist(recorded->returned);
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || !def->use_empty() ||
        !isa<tensor::FromElementsOp, quantum::ExpvalOp, quantum::VarOp, quantum::ProbsOp>(def))
      continue;
    llvm::append_range(worklist, def->getOperands());
    def->erase();
  }
  return fn;
}

/// @q.values(p, args): the circuit of p, results only; its rule calls @q.vjp.adjoint.
FailureOr<func::FuncOp> valuesCircuit(func::FuncOp qnode, const Circuit &circuit,
                                      SymbolTableCollection &symbols) {
  FailureOr<func::FuncOp> vjp = adjointVJPCircuit(qnode, circuit, symbols);
  if (failed(vjp))
    return failure();
  OpBuilder b(qnode);
  auto [fn, created] =
      getOrCreateFunction(qnode, "values", circuitType(b, qnode, circuit, false), symbols);
  if (!created)
    return fn;
  markCircuit(fn, qnode, CircuitRole::Values);
  IRMapping mapping;
  Value count;
  FailureOr<SmallVector<Value>> returned = cloneCircuitOfP(qnode, fn, b, mapping, count);
  if (failed(returned)) {
    fn.erase();
    return failure();
  }
  func::ReturnOp::create(b, qnode.getLoc(), *returned);
  return fn;
}

} // namespace kvant::gradient::circuits
