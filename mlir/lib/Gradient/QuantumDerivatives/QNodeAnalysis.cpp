//===- QNodeAnalysis.cpp - what a derivative needs to know about a QNode ------------===//
//
// See QNodeAnalysis.h.
//
//===----------------------------------------------------------------------------------===//

#include "QNodeAnalysis.h"
#include "CircuitFunctions.h"
#include "ParameterThreading.h"

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

FailureOr<Circuit> analyse(func::FuncOp qnode, Operation *site, bool requireShiftRules) {
  StringRef name = displayName(qnode);
  auto error = [&]() { return site->emitError() << "QNode '" << name << "': "; };
  quantum::NodeAttr node = quantum::getQNodeAttr(qnode);
  StringRef diffMethod = node ? node.getDiffMethod() : StringRef("best");
  if (diffMethod != "adjoint" && diffMethod != "best" && diffMethod != "parameter-shift")
    return error() << "diff_method=\"" << diffMethod << "\" cannot be used with method=\"auto\"";
  if (!qnode.getBody().hasOneBlock())
    return error() << "a QNode with several blocks";
  Block &body = qnode.getBody().front();
  // With shots the results are estimates computed from samples; the frontend says what each
  // one estimates. Expectation values and probabilities are estimated without bias, so the
  // shift rules applied to the estimates give an unbiased estimate of the derivative.
  bool sampled = node && node.isSampled();
  if (sampled && diffMethod == "adjoint")
    return error() << "the adjoint method has no shot semantics; use "
                   << "diff_method=\"parameter-shift\"";
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
  bool noProbs = true;
  for (auto [r, result] : llvm::enumerate(body.getTerminator()->getOperands())) {
    if (sampled) {
      StringRef kind = node.getMeasurement(r);
      if (kind != "expval" && kind != "probs")
        return error() << "with shots, method=\"auto\" differentiates estimates of "
                       << "expectation values and probabilities, not of '" << kind << "'";
      circuit.kinds.push_back(kind == "expval" ? Kind::Expval : Kind::Probs);
      circuit.measured.push_back(nullptr);
      circuit.sizes.push_back(cast<RankedTensorType>(result.getType()).getNumElements());
      circuit.numOutputs += circuit.sizes.back();
      continue;
    }
    Operation *measured = nullptr;
    if (auto from = result.getDefiningOp<tensor::FromElementsOp>();
        from && from.getElements().size() == 1) {
      Operation *def = from.getElements()[0].getDefiningOp();
      if (isa_and_nonnull<quantum::ExpvalOp, quantum::VarOp>(def))
        measured = def;
    }
    if (!measured)
      measured = result.getDefiningOp<quantum::ProbsOp>();
    if (!measured)
      return error() << "method=\"auto\" differentiates QNodes that return expectation values, "
                     << "variances and probabilities";
    circuit.kinds.push_back(isa<quantum::ExpvalOp>(measured) ? Kind::Expval
                            : isa<quantum::VarOp>(measured)  ? Kind::Var
                                                             : Kind::Probs);
    noProbs &= circuit.kinds.back() != Kind::Probs;
    circuit.measured.push_back(measured);
    circuit.sizes.push_back(cast<RankedTensorType>(result.getType()).getNumElements());
    circuit.numOutputs += circuit.sizes.back();
  }
  // "best": the adjoint method on kvant's simulator when every measurement allows it.
  // "best": the adjoint sweep unless there are probabilities. Their Jacobian costs the sweep one
  // vector per outcome (2^m for m wires), against two circuit runs per parameter for
  // parameter-shift, whatever m; diff_method="adjoint" still chooses the sweep.
  circuit.adjoint = !sampled && (diffMethod == "adjoint" || (diffMethod == "best" && noProbs));
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
