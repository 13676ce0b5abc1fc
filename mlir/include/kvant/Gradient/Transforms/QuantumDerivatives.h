//===- QuantumDerivatives.h - QNodes inside reverse-mode derivatives --------*- C++ -*-===//
//
// GRADIENTS.md: a QNode q(args) is its classical skeleton p = P(args) (the gate parameters, in
// the order the gates run) followed by the circuit of p, y = Q(p). When a derivative function
// inlines a call of q, it inlines the skeleton (ordinary classical code the reverse sweep
// differentiates) and calls a circuit function that also returns the quantum Jacobian
// J = dQ/dp, computed once per call and evaluation. The rule of that call turns the
// cotangent of y into the cotangent of p: ȳᵀ J.
//
// Methods: "adjoint" (the runtime's adjoint sweep over the recorded gates; expectation values),
// "parameter-shift" (shifted circuits; expectation values and probabilities), and "best":
// adjoint when every result is an expectation value, else parameter-shift. Gates may sit in
// scf loops and branches (ParameterThreading.h).
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_TRANSFORMS_QUANTUMDERIVATIVES_H
#define KVANT_GRADIENT_TRANSFORMS_QUANTUMDERIVATIVES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace kvant::gradient {

/// Emits, at the builder, the skeleton of QNode `qnode` applied to `args` and the call of its
/// Jacobian-returning circuit; appends the emitted ops to `forward` and returns the values
/// standing for the QNode's results. Fails with an error at `site` (the call, or the gradient op
/// of a QNode differentiated directly) for what is not supported.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
inlineQNodeCall(mlir::OpBuilder &b, mlir::Operation *site, mlir::func::FuncOp qnode,
                mlir::ValueRange args, mlir::SymbolTableCollection &symbols,
                llvm::SmallVectorImpl<mlir::Operation *> &forward);

/// Inlines the circuit functions whose results have a dynamic shape (QNodes with gates in
/// control flow) into their callers and erases them: bufferization passes back only results of
/// static shape. Runs once every derivative is built, since the rules see the calls.
void inlineDynamicallyShapedCircuits(mlir::ModuleOp module);

} // namespace kvant::gradient

#endif // KVANT_GRADIENT_TRANSFORMS_QUANTUMDERIVATIVES_H
