//===- QuantumRules.cpp - derivative rules of calls of circuit functions --------------===//
//
// The rule of a call of @q.with_jacobian.<method>(p, args) -> (results, J) turns the results'
// cotangent ȳ into p̄ = ȳᵀJ. The VJP form (adjoint, one cotangent per call, several entries):
// the forward calls @q.values(p, args) (results only) and the rule of that call calls
// @q.vjp.adjoint(p, args, ȳ) -> ȳᵀJ.
//
// Second derivatives: entries of J for expectation values and probabilities are, in every
// parameter, of the same trigonometric form as the results, so the shift rules that
// differentiate the results differentiate J too: the rule of a call whose J has a cotangent
// evaluates the call at shifted p. Variance rows are products (d var = d<O^2> - 2<O> d<O>):
// there the rule shifts @q.shiftable_jacobian.<method>, the Jacobian of (<O^2>, <O>), and adds
// the product term. Every function called by these rules has a rule of its own, so derivatives
// of any order nest.
//
//===----------------------------------------------------------------------------------===//

#include "AdjointCircuits.h"
#include "CircuitFunctions.h"
#include "ParameterThreading.h"
#include "ShiftCircuits.h"
#include "kvant/Gradient/AutoDiff/ForwardMode.h"
#include "kvant/Gradient/AutoDiff/ReverseMode.h"
#include "kvant/Gradient/AutoDiff/TensorUtils.h"
#include "kvant/Gradient/QuantumDerivatives/QuantumDerivatives.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"

using namespace mlir;
using namespace kvant::gradient;
namespace quantum = kvant::quantum;
using namespace kvant::gradient::circuits;

namespace {

/// p̄ += J̄ : dJ/dp for a call of a circuit with its Jacobian J. Each entry of J is of the
/// trigonometric form, and the shift rules apply to J itself, except for variances: their rows
/// d var = d<O^2> - 2<O> d<O> are products. With F the results with var replaced by <O^2>
/// plus the <O>s (shifted: J_F), and E = <O>:
///   ∂_k d var = ∂_k d<O^2> - 2 E ∂_k d<O> - 2 (∂_k E) d<O>,
/// so J̄ extended by the rows -2 E J̄_var is contracted with the shifted J_F, and the last term
/// is added at p.
LogicalResult secondOrder(ReverseSweep &s, func::CallOp call, func::FuncOp callee, Value jbar) {
  OpBuilder &b = s.builder();
  Location loc = call.getLoc();
  auto origin = circuitOrigin(call, callee, /*requireShiftRules=*/true);
  if (failed(origin))
    return failure();
  func::FuncOp qnode = origin->first;
  const Circuit *circuit = &origin->second;
  Value params = call.getOperand(0);
  ValueRange args = call.getOperands().drop_front();
  SymbolTableCollection symbols;
  FailureOr<Value> rules = emitShiftRules(b, loc, qnode, *circuit, args, symbols);
  if (failed(rules))
    return failure();
  auto callAt = [&](OpBuilder &ob, func::FuncOp fn, Value p) {
    SmallVector<Value> operands{p};
    llvm::append_range(operands, args);
    return func::CallOp::create(ob, loc, fn, operands);
  };
  if (!llvm::is_contained(circuit->kinds, Kind::Var)) {
    s.accumulate(params,
                 shiftedContraction(b, loc, params, *rules, jbar, [&](OpBuilder &ob, Value p) {
                   return callAt(ob, callee, p).getResults().back();
                 }));
    return success();
  }
  FailureOr<func::FuncOp> shiftable = circuit->adjoint
                                          ? adjointShiftableCircuit(qnode, *circuit, symbols)
                                          : shiftCircuit(qnode, *circuit, symbols, true);
  if (failed(shiftable))
    return failure();
  auto f64 = b.getF64Type();
  auto base = callAt(b, *shiftable, params);
  Value jacobianF = base.getResults().back();
  SmallVector<Value> extendedRows{jbar};
  Value extra = zerosLike(b, loc, params);
  int64_t row = 0, numVars = 0;
  for (auto [kind, size] : llvm::zip(circuit->kinds, circuit->sizes)) {
    if (kind == Kind::Var) {
      Value e = tensor::ExtractOp::create(b, loc, base.getResult(numVars), ValueRange{});
      Value minusTwoE = arith::MulFOp::create(b, loc, e, constantOf(b, loc, f64, -2.0));
      extendedRows.push_back(scaled(b, loc, minusTwoE, matrixRow(b, loc, jbar, row, true)));
      // - 2 (J̄_var · d<O>) d<O>
      Value dE = matrixRow(b, loc, jacobianF, circuit->numOutputs + numVars, false);
      Value weight =
          sumAll(b, loc, arith::MulFOp::create(b, loc, matrixRow(b, loc, jbar, row, false), dE));
      Value minusTwoW = arith::MulFOp::create(b, loc, weight, constantOf(b, loc, f64, -2.0));
      Value term = tensor::CastOp::create(b, loc, params.getType(), scaled(b, loc, minusTwoW, dE));
      extra = arith::AddFOp::create(b, loc, extra, term);
      ++numVars;
    }
    row += size;
  }
  Value extendedJbar = tensor::ConcatOp::create(b, loc, /*dim=*/0, extendedRows);
  Value shifted =
      shiftedContraction(b, loc, params, *rules, extendedJbar, [&](OpBuilder &ob, Value p) {
        return callAt(ob, *shiftable, p).getResults().back();
      });
  s.accumulate(params, arith::AddFOp::create(b, loc, shifted, extra));
  return success();
}

/// The rule of a call of a circuit with its Jacobian: p̄ = Σ_m ȳ_m J[m, :], ȳ the results'
/// cotangents flattened in order; plus, when J itself has a cotangent, the second-order term.
LogicalResult jacobianCallRule(ReverseSweep &s, func::CallOp call, func::FuncOp callee,
                               ArrayRef<Value> cts) {
  Operation *op = call;
  unsigned numResults = op->getNumResults() - 1;
  Value jacobian = op->getResult(numResults);
  auto jacobianType = cast<RankedTensorType>(jacobian.getType());
  if (jacobianType.getDimSize(1) == 0)
    return success();
  if (cts[numResults] && failed(secondOrder(s, call, callee, cts[numResults])))
    return failure();
  if (llvm::none_of(cts.take_front(numResults), [](Value ct) { return bool(ct); }))
    return success();
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  SmallVector<Value> weights;
  for (unsigned r = 0; r < numResults; ++r)
    weights.push_back(s.cotangentOrZeros(op->getResult(r), loc));
  Value ybar = flatten(b, loc, weights);
  MLIRContext *ctx = b.getContext();
  AffineExpr r = getAffineDimExpr(0, ctx), p = getAffineDimExpr(1, ctx);
  Value params = call.getOperand(0);
  auto product = linalg::GenericOp::create(
      b, loc, TypeRange{params.getType()}, ValueRange{ybar, jacobian},
      ValueRange{zerosLike(b, loc, params)},
      ArrayRef<AffineMap>{AffineMap::get(2, 0, {r}, ctx), AffineMap::get(2, 0, {r, p}, ctx),
                          AffineMap::get(2, 0, {p}, ctx)},
      ArrayRef<utils::IteratorType>{utils::IteratorType::reduction, utils::IteratorType::parallel},
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value term = arith::MulFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], term)});
      });
  s.accumulate(params, product.getResult(0));
  return success();
}

/// The rule of a call of @q.values: p̄ += @q.vjp.adjoint(p, args, ȳ).
LogicalResult valuesCallRule(ReverseSweep &s, func::CallOp call, func::FuncOp callee) {
  Value params = call.getOperand(0);
  if (cast<RankedTensorType>(params.getType()).getDimSize(0) == 0)
    return success();
  OpBuilder &b = s.builder();
  Location loc = call.getLoc();
  auto origin = circuitOrigin(call, callee, /*requireShiftRules=*/false);
  if (failed(origin))
    return failure();
  SymbolTableCollection symbols;
  FailureOr<func::FuncOp> vjp = adjointVJPCircuit(origin->first, origin->second, symbols);
  if (failed(vjp))
    return failure();
  SmallVector<Value> weights;
  for (Value result : call.getResults())
    weights.push_back(s.cotangentOrZeros(result, loc));
  SmallVector<Value> operands(call.getOperands());
  operands.push_back(flatten(b, loc, weights));
  s.accumulate(params, func::CallOp::create(b, loc, *vjp, operands).getResult(0));
  return success();
}

/// The rule of a call of @q.vjp.adjoint (a derivative being differentiated again): its result
/// ȳᵀJ(p) is linear in ȳ and has the cotangent c, so ȳ gets J c, and p gets the second-order
/// term of J with J̄ = ȳ cᵀ, from a call of the Jacobian circuit at the same p.
LogicalResult vjpCallRule(ReverseSweep &s, func::CallOp call, func::FuncOp callee, Value c) {
  OpBuilder &b = s.builder();
  Location loc = call.getLoc();
  auto origin = circuitOrigin(call, callee, /*requireShiftRules=*/false);
  if (failed(origin))
    return failure();
  SymbolTableCollection symbols;
  FailureOr<func::FuncOp> jacobianFn = adjointCircuit(origin->first, origin->second, symbols);
  if (failed(jacobianFn))
    return failure();
  Value ybar = call.getOperands().back();
  auto jacobianCall = func::CallOp::create(b, loc, *jacobianFn, call.getOperands().drop_back());
  Value jacobian = jacobianCall.getResults().back();
  MLIRContext *ctx = b.getContext();
  AffineExpr r = getAffineDimExpr(0, ctx), p = getAffineDimExpr(1, ctx);
  auto parallel = utils::IteratorType::parallel, reduction = utils::IteratorType::reduction;
  // ȳ̄ = J c
  auto jc = linalg::GenericOp::create(
      b, loc, TypeRange{ybar.getType()}, ValueRange{jacobian, c},
      ValueRange{zerosLike(b, loc, ybar)},
      ArrayRef<AffineMap>{AffineMap::get(2, 0, {r, p}, ctx), AffineMap::get(2, 0, {p}, ctx),
                          AffineMap::get(2, 0, {r}, ctx)},
      ArrayRef<utils::IteratorType>{parallel, reduction},
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value term = arith::MulFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], term)});
      });
  s.accumulate(ybar, jc.getResult(0));
  // J̄ = ȳ cᵀ
  auto outer = linalg::GenericOp::create(
      b, loc, TypeRange{jacobian.getType()}, ValueRange{ybar, c},
      ValueRange{zerosLike(b, loc, jacobian)},
      ArrayRef<AffineMap>{AffineMap::get(2, 0, {r}, ctx), AffineMap::get(2, 0, {p}, ctx),
                          AffineMap::get(2, 0, {r, p}, ctx)},
      ArrayRef<utils::IteratorType>{parallel, parallel},
      [](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, ValueRange{arith::MulFOp::create(nb, l, args[0], args[1])});
      });
  return secondOrder(s, jacobianCall, *jacobianFn, outer.getResult(0));
}

/// The rule of a call of @q.shiftable_jacobian (a second derivative through variances being
/// differentiated again): each <O> gets the row d<O> of J_F at the same p, and J_F, whose
/// entries are all of the trigonometric form, is shifted as the Jacobians of secondOrder are.
LogicalResult shiftableCallRule(ReverseSweep &s, func::CallOp call, func::FuncOp callee,
                                ArrayRef<Value> cts) {
  OpBuilder &b = s.builder();
  Location loc = call.getLoc();
  auto origin = circuitOrigin(call, callee, /*requireShiftRules=*/true);
  if (failed(origin))
    return failure();
  func::FuncOp qnode = origin->first;
  const Circuit *circuit = &origin->second;
  Value params = call.getOperand(0);
  ValueRange args = call.getOperands().drop_front();
  unsigned numVars = call.getNumResults() - 1;
  Value jacobianF = call.getResults().back();
  for (unsigned j = 0; j < numVars; ++j) {
    if (!cts[j])
      continue;
    Value dE = matrixRow(b, loc, jacobianF, circuit->numOutputs + j, false);
    Value ebar = tensor::ExtractOp::create(b, loc, cts[j], ValueRange{});
    s.accumulate(params,
                 tensor::CastOp::create(b, loc, params.getType(), scaled(b, loc, ebar, dE)));
  }
  if (Value jbar = cts.back()) {
    SymbolTableCollection symbols;
    FailureOr<Value> rules = emitShiftRules(b, loc, qnode, *circuit, args, symbols);
    if (failed(rules))
      return failure();
    auto shiftedJacobian = [&](OpBuilder &ob, Value p) {
      SmallVector<Value> operands{p};
      llvm::append_range(operands, args);
      return func::CallOp::create(ob, loc, callee, operands).getResults().back();
    };
    s.accumulate(params, shiftedContraction(b, loc, params, *rules, jbar, shiftedJacobian));
  }
  return success();
}

/// Calls of the circuit functions this file creates; other calls were inlined before the sweep.
LogicalResult circuitCallRule(ReverseSweep &s, Operation *op, ArrayRef<Value> cts) {
  auto call = cast<func::CallOp>(op);
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(op, call.getCalleeAttr());
  CircuitAttr circuit = callee ? getCircuitAttr(callee) : CircuitAttr();
  if (circuit)
    switch (circuit.getRole()) {
    case CircuitRole::Jacobian:
      return jacobianCallRule(s, call, callee, cts);
    case CircuitRole::Values:
      return valuesCallRule(s, call, callee);
    case CircuitRole::VJP:
      return vjpCallRule(s, call, callee, cts[0]);
    case CircuitRole::ShiftableJacobian:
      return shiftableCallRule(s, call, callee, cts);
    }
  return op->emitError() << "kvant cannot differentiate this call of '" << call.getCallee() << "'";
}

/// Forward mode: the tangent of the results of a call of @q.with_jacobian.<method>(p, args)
/// is J ṗ, split into the results (J's rows are the results flattened in order). J is
/// computed once per call, by the adjoint sweep or the shifted circuits, whatever the number
/// of differentiated arguments upstream of p. The operands other than p vary only where they
/// feed the skeleton (checkOnlyGateParametersVary), which ṗ accounts for. J's own tangent (a
/// jvp of a derivative of a QNode) needs second-order quantum rules in forward mode: refused.
LogicalResult circuitTangentRule(ForwardSweep &s, Operation *op) {
  auto call = cast<func::CallOp>(op);
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(op, call.getCalleeAttr());
  CircuitAttr circuit = callee ? getCircuitAttr(callee) : CircuitAttr();
  if (!circuit || circuit.getRole() != CircuitRole::Jacobian ||
      !op->getResults().back().use_empty())
    return op->emitError() << "kvant's forward mode (jvp) does not differentiate a derivative of "
                              "a QNode yet (the call of '"
                           << call.getCallee() << "'); use jacobian or grad for it";
  Value pdot = s.tangent(call.getOperand(0));
  if (!pdot)
    return success();
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  unsigned numResults = op->getNumResults() - 1;
  Value jacobian = op->getResult(numResults);
  int64_t rows = cast<RankedTensorType>(jacobian.getType()).getDimSize(0);
  auto f64 = b.getF64Type();
  auto flatType = RankedTensorType::get({rows}, f64);
  MLIRContext *ctx = b.getContext();
  AffineExpr r = getAffineDimExpr(0, ctx), p = getAffineDimExpr(1, ctx);
  auto product = linalg::GenericOp::create(
      b, loc, TypeRange{flatType}, ValueRange{jacobian, pdot},
      ValueRange{zerosOf(b, loc, flatType)},
      ArrayRef<AffineMap>{AffineMap::get(2, 0, {r, p}, ctx), AffineMap::get(2, 0, {p}, ctx),
                          AffineMap::get(2, 0, {r}, ctx)},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel, utils::IteratorType::reduction},
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value term = arith::MulFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], term)});
      });
  Value flat = product.getResult(0);
  int64_t offset = 0;
  for (unsigned k = 0; k < numResults; ++k) {
    auto type = cast<RankedTensorType>(op->getResult(k).getType());
    int64_t size = type.getNumElements();
    auto pieceType = RankedTensorType::get({size}, f64);
    Value piece = tensor::ExtractSliceOp::create(
        b, loc, pieceType, flat, ArrayRef<OpFoldResult>{b.getIndexAttr(offset)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(size)}, ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    s.setTangent(op->getResult(k), reshapeStatic(b, loc, piece, type));
    offset += size;
  }
  return success();
}

} // namespace

void kvant::gradient::addQuantumTangentRules(TangentRuleTable &rules) {
  rules.callees[GradientDialect::getCircuitAttrName()] = circuitTangentRule;
}

/// What a quantum op takes in its operand `index`, for messages.
static std::string describeQuantumOperand(Operation *op, unsigned index) {
  if (isa<quantum::UnitaryOp>(op))
    return "the matrix of a QubitUnitary";
  if (isa<quantum::StatePrepOp>(op))
    return "the amplitudes of a StatePrep";
  if (isa<quantum::HermitianOp>(op))
    return "the matrix of a Hermitian observable";
  if (isa<quantum::HamiltonianOp>(op))
    return "the coefficients of a Hamiltonian";
  return ("operand " + Twine(index) + " of '" + op->getName().getStringRef() + "'").str();
}

LogicalResult kvant::gradient::checkOnlyGateParametersVary(func::CallOp call,
                                                           function_ref<bool(Value)> isVaried) {
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
  if (!callee || !isCircuitFunction(callee))
    return success();
  auto qnode =
      SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, getCircuitAttr(callee).getQnode());
  if (!qnode || qnode.isExternal())
    return success();
  // Operand 0 is the gate-parameter vector; the QNode's arguments follow.
  SmallVector<Value> seeds;
  for (auto [i, arg] : llvm::enumerate(qnode.getArguments()))
    if (1 + i < call.getNumOperands() && isVaried(call.getOperand(1 + i)))
      seeds.push_back(arg);
  OpOperand *lost = nullptr;
  dependentValues(seeds, [&](OpOperand &use) {
    Operation *user = use.getOwner();
    if (!isQuantumOp(user))
      return true;
    auto gate = dyn_cast<quantum::DifferentiableGate>(user);
    bool isParameter = gate && llvm::any_of(gate.getDiffParamsMutable(),
                                            [&](OpOperand &param) { return &param == &use; });
    if (!isParameter && !lost && isDifferentiableType(use.get().getType()))
      lost = &use;
    return false; // the circuit's derivative takes over from gate parameters
  });
  if (!lost)
    return success();
  InFlightDiagnostic diag =
      call.emitError() << "QNode '" << displayName(qnode) << "': a value computed from a "
                       << "differentiated argument is used as "
                       << describeQuantumOperand(lost->getOwner(), lost->getOperandNumber())
                       << "; method=\"auto\" "
                       << "differentiates circuits through their gate parameters only (use gates "
                       << "with parameters, or method=\"fd\")";
  diag.attachNote(lost->getOwner()->getLoc()) << "the quantum operation is here";
  return failure();
}

void kvant::gradient::addQuantumRules(RuleTable &rules) {
  rules.callees[GradientDialect::getCircuitAttrName()] = circuitCallRule;
  rules.stateful[quantum::QuantumDialect::getDialectNamespace()] = "gates outside a QNode";
}
