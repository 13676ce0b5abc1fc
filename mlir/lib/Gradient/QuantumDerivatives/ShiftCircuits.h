//===- ShiftCircuits.h - parameter-shift circuit functions and contractions --*- C++ -*-===//
//
// Parameter-shift: @q.of_params(p, args) (the circuit of p, plus <O> for each variance)
// evaluated at p shifted by +-pi/2 (two-term rule) and also +-3pi/2 (four-term rule) in each
// entry, by the rule of the gate the entry feeds (DifferentiableGate::getShiftRule); variances
// through <O^2> = var + <O>^2. The same rules, applied to a Jacobian whose entries are of the
// trigonometric form, give second derivatives (shiftedContraction).
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_QUANTUMDERIVATIVES_SHIFTCIRCUITS_H
#define KVANT_GRADIENT_QUANTUMDERIVATIVES_SHIFTCIRCUITS_H

#include "QNodeAnalysis.h"

#include "mlir/IR/SymbolTable.h"

namespace kvant::gradient::circuits {

/// @q.with_jacobian.parameter_shift(p, args) -> (results, J), or with `shiftable`
/// @q.shiftable_jacobian.parameter_shift(p, args) -> (<O> of each variance, J_F), J_F the
/// Jacobian of F = (the results with each variance replaced by <O^2>, then the <O>s), whose
/// entries have the trigonometric form second derivatives shift.
mlir::FailureOr<mlir::func::FuncOp> shiftCircuit(mlir::func::FuncOp qnode, const Circuit &circuit,
                                                 mlir::SymbolTableCollection &symbols,
                                                 bool shiftable = false);

/// The shift rule of each parameter (1 = four-term, 0 = two-term) as a tensor<Gxi8>; null when
/// every parameter has the two-term rule. With gates in control flow, a call of
/// `@<qnode>.shift_rules(args)`.
mlir::FailureOr<mlir::Value> emitShiftRules(mlir::OpBuilder &b, mlir::Location loc,
                                            mlir::func::FuncOp qnode, const Circuit &circuit,
                                            mlir::ValueRange args,
                                            mlir::SymbolTableCollection &symbols);

/// The vector of Σ J̄ ∘ ∂_k J(p) over k (a contribution to p̄), by the shift rule of parameter
/// k applied to a Jacobian: `shiftedJacobian(b, p')` is a Jacobian at p' whose entries are of
/// the trigonometric form in every parameter.
mlir::Value
shiftedContraction(mlir::OpBuilder &b, mlir::Location loc, mlir::Value params, mlir::Value rules,
                   mlir::Value jbar,
                   llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Value)> shiftedJacobian);

} // namespace kvant::gradient::circuits

#endif // KVANT_GRADIENT_QUANTUMDERIVATIVES_SHIFTCIRCUITS_H
