//===- QNodeAnalysis.cpp - what a derivative needs to know about a QNode ------------===//
//
// See QNodeAnalysis.h.
//
//===----------------------------------------------------------------------------------===//

#include "QNodeAnalysis.h"
#include "CircuitFunctions.h"
#include "ParameterThreading.h"
#include "kvant/Gradient/QuantumDerivatives/AutoMethod.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kvant::gradient;
using namespace kvant::gradient::circuits;
namespace quantum = kvant::quantum;

namespace kvant::gradient::circuits {

StringRef displayName(func::FuncOp qnode) {
  StringRef name = qnode.getSymName();
  name.consume_front("qnode_");
  return name;
}

namespace {

/// The expval, var or probs op whose value `result` (a QNode result) is, or null.
Operation *measuringOp(Value result) {
  if (auto from = result.getDefiningOp<tensor::FromElementsOp>();
      from && from.getElements().size() == 1) {
    Operation *def = from.getElements()[0].getDefiningOp();
    if (isa_and_nonnull<quantum::ExpvalOp, quantum::VarOp>(def))
      return def;
  }
  return result.getDefiningOp<quantum::ProbsOp>();
}

} // namespace

FailureOr<Circuit> analyse(func::FuncOp qnode, Operation *site, bool requireShiftRules) {
  StringRef name = displayName(qnode);
  auto error = [&]() { return site->emitError() << "QNode '" << name << "': "; };
  if (!qnode.getBody().hasOneBlock())
    return error() << "a QNode with several blocks";
  Block &body = qnode.getBody().front();
  ValueRange results = body.getTerminator()->getOperands();

  // What the QNode declares, asked of the admissibility table the frontend asks too
  // (AutoMethod.h). Each result's measurement: the expval, var or probs op the body returns
  // (exact results); else, or with shots (estimates computed from samples), what #quantum.node
  // declares.
  quantum::NodeAttr node = quantum::getQNodeAttr(qnode);
  bool declared = node && node.getMeasurements();
  bool sampled = node && node.isSampled();
  SmallVector<Operation *> measured;
  SmallVector<StringRef> kinds;
  for (auto [r, result] : llvm::enumerate(results)) {
    measured.push_back(measuringOp(result));
    kinds.push_back(measured.back() && !sampled ? measured.back()->getName().stripDialect()
                    : declared                  ? node.getMeasurement(r)
                                                : StringRef("other"));
  }
  QNodeDeclaration declaration;
  if (node) {
    declaration.diffMethod = node.getDiffMethod();
    declaration.shots = node.getShots();
  }
  declaration.measurements = kinds;
  AutoDecision decision = decideAutoMethod(declaration);
  if (!decision.admitted())
    return site->emitError() << "QNode '" << name << "' " << decision.reason;

  Circuit circuit;
  int64_t numParams = 0;
  bool nested = false;
  WalkResult walk = qnode.getBody().walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op->getNumRegions() != 0 &&
        !isa<scf::ForOp, scf::WhileOp, scf::IfOp, scf::IndexSwitchOp>(op) &&
        containsQuantumOps(op)) {
      error() << "method=\"auto\" cannot differentiate gates inside '" << op->getName() << "'";
      return WalkResult::interrupt();
    }
    if (isa<quantum::MeasureOp>(op)) {
      error() << "a mid-circuit measurement is not differentiable with method=\"auto\"";
      return WalkResult::interrupt();
    }
    if (isa<quantum::SampleOp, quantum::CountsOp>(op) && !sampled) {
      error() << "samples are not differentiable";
      return WalkResult::interrupt();
    }
    if (auto gate = dyn_cast<quantum::DifferentiableGate>(op)) {
      circuit.gates.push_back(gate);
      numParams += gate.getDiffParams().size();
      nested |= op->getBlock() != &body && !gate.getDiffParams().empty();
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  circuit.numParams = nested ? ShapedType::kDynamic : numParams;
  for (auto [r, result] : llvm::enumerate(results)) {
    // Without shots the body must measure what the rules differentiate (the declaration may
    // say so of a value computed otherwise).
    if (!sampled && !measured[r])
      return error() << "method=\"auto\" differentiates QNodes that return expectation values, "
                     << "variances and probabilities";
    StringRef kind = kinds[r]; // with shots, the table admitted expval and probs only
    circuit.kinds.push_back(kind == "expval" ? Kind::Expval
                            : kind == "var"  ? Kind::Var
                                             : Kind::Probs);
    circuit.measured.push_back(sampled ? nullptr : measured[r]);
    circuit.sizes.push_back(cast<RankedTensorType>(result.getType()).getNumElements());
    circuit.numOutputs += circuit.sizes.back();
  }
  circuit.adjoint = decision.method == QuantumMethod::Adjoint;
  for (quantum::DifferentiableGate gate : circuit.gates)
    for (unsigned i = 0, n = gate.getDiffParams().size(); i < n; ++i) {
      std::optional<quantum::ShiftRule> rule = gate.getShiftRule(i);
      if (!rule && (!circuit.adjoint || requireShiftRules))
        return error() << "no parameter-shift rule for gate '"
                       << gate->getAttrOfType<StringAttr>("gate_name").getValue() << "'"
                       << (circuit.adjoint ? " (second derivatives shift the adjoint Jacobian)"
                                           : "");
      circuit.anyFourTerm |= rule == quantum::ShiftRule::FourTerm;
    }
  return circuit;
}

FailureOr<std::pair<func::FuncOp, Circuit>> circuitOrigin(func::CallOp call, func::FuncOp callee,
                                                          bool requireShiftRules) {
  CircuitAttr role = getCircuitAttr(callee);
  auto qnode = role ? SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, role.getQnode())
                    : func::FuncOp();
  if (!qnode)
    return call.emitError("kvant cannot take higher derivatives of this circuit");
  FailureOr<Circuit> circuit = analyse(qnode, call, requireShiftRules);
  if (failed(circuit))
    return failure();
  return std::make_pair(qnode, std::move(*circuit));
}

} // namespace kvant::gradient::circuits
