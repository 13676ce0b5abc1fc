//===- QNodeAnalysis.h - what a derivative needs to know about a QNode ------*- C++ -*-===//
//
// A QNode's body read once before any circuit function is built from it: its differentiable
// gates, what each result measures, the number of gate parameters (dynamic when gates sit in
// control flow) and the method that differentiates it. The method, and the refusals that
// depend on what the QNode declares (#quantum.node), come from the admissibility table the
// frontend asks too (kvant/Gradient/QuantumDerivatives/AutoMethod.h); every refusal of
// method="auto" that depends on the body is made here, by name.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_QUANTUMDERIVATIVES_QNODEANALYSIS_H
#define KVANT_GRADIENT_QUANTUMDERIVATIVES_QNODEANALYSIS_H

#include "kvant/Quantum/IR/QuantumOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace kvant::gradient::circuits {

enum class Kind { Expval, Var, Probs };

/// What the derivative needs to know about a QNode's body.
struct Circuit {
  llvm::SmallVector<quantum::DifferentiableGate> gates; // every one, in body order
  llvm::SmallVector<mlir::Operation *> measured; // the expval, var or probs op of each result
  llvm::SmallVector<Kind> kinds;                 // of each result
  llvm::SmallVector<int64_t> sizes;              // elements of each result
  int64_t numParams = 0;    // mlir::ShapedType::kDynamic: gates in control flow
  int64_t numOutputs = 0;   // sum of sizes
  bool adjoint = false;     // else parameter-shift
  bool anyFourTerm = false; // some parameter has the four-term rule
  bool dynamic() const { return mlir::ShapedType::isDynamic(numParams); }
};

/// The QNode's name in the user's program (the frontend names its function qnode_<name>).
llvm::StringRef displayName(mlir::func::FuncOp qnode);

/// Analyses `qnode` for a derivative requested at `site` (errors go there).
/// `requireShiftRules`: every parameter needs a shift rule even under the adjoint method (second
/// derivatives shift the adjoint Jacobian).
mlir::FailureOr<Circuit> analyse(mlir::func::FuncOp qnode, mlir::Operation *site,
                                 bool requireShiftRules = false);

/// The QNode a circuit function was derived from, analysed at `call` (a call of `callee`).
mlir::FailureOr<std::pair<mlir::func::FuncOp, Circuit>>
circuitOrigin(mlir::func::CallOp call, mlir::func::FuncOp callee, bool requireShiftRules);

} // namespace kvant::gradient::circuits

#endif // KVANT_GRADIENT_QUANTUMDERIVATIVES_QNODEANALYSIS_H
