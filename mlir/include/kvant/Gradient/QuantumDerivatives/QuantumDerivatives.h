//===- QuantumDerivatives.h - QNodes inside reverse-mode derivatives --------*- C++ -*-===//
//
// docs/gradients.md: a QNode q(args) is its classical skeleton p = P(args) (the gate parameters, in
// the order the gates run) followed by the circuit of p, y = Q(p). When a derivative function
// inlines a call of q, it inlines the skeleton (ordinary classical code the reverse sweep
// differentiates) and calls a circuit function that also returns the quantum Jacobian
// J = dQ/dp, computed once per call and evaluation. The rule of that call turns the
// cotangent of y into the cotangent of p: ȳᵀ J. When the derivative runs a single reverse
// sweep (a gradient) and the adjoint method applies, a QNode with several measurement entries
// is instead called for its values only, and its rule asks the runtime for ȳᵀ J directly
// (the VJP form: one weighted sweep instead of one vector per entry).
//
// Methods: "adjoint" (the runtime's adjoint sweep over the recorded gates), "parameter-shift"
// (shifted circuits), both for expectation values, variances and probabilities, and "best":
// adjoint unless there are probabilities or shots. Gates may sit in scf loops and branches
// (ParameterThreading.h).
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_QUANTUMDERIVATIVES_QUANTUMDERIVATIVES_H
#define KVANT_GRADIENT_QUANTUMDERIVATIVES_QUANTUMDERIVATIVES_H

#include "kvant/Gradient/AutoDiff/ForwardMode.h"
#include "kvant/Gradient/AutoDiff/ReverseMode.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace kvant::gradient {

/// Emits, at the builder, the skeleton of QNode `qnode` applied to `args` and the call of its
/// circuit; appends the emitted ops to `forward` and returns the values standing for the
/// QNode's results. `oneCotangent`: the derivative runs one reverse sweep, so the VJP form may
/// be chosen. Fails with an error at `site` (the call, or the gradient op of a QNode
/// differentiated directly) for what is not supported.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
inlineQNodeCall(mlir::OpBuilder &b, mlir::Operation *site, mlir::func::FuncOp qnode,
                mlir::ValueRange args, mlir::SymbolTableCollection &symbols,
                llvm::SmallVectorImpl<mlir::Operation *> &forward, bool oneCotangent);

/// The rules of calls of circuit functions, keyed on their role (gradient.circuit), and the
/// quantum dialect as stateful (its ops act on the simulator).
void addQuantumRules(RuleTable &rules);

/// The forward-mode rule of calls of circuit functions: the results' tangent is J_Q ṗ, from
/// the Jacobian the circuit call returns (QuantumRules.cpp).
void addQuantumTangentRules(TangentRuleTable &rules);

/// Whether `fn` is a circuit function made by inlineQNodeCall: calls of it stay calls, whose
/// rules are quantum derivatives.
bool isCircuitFunction(mlir::func::FuncOp fn);

/// The quantum rules differentiate gate parameters only. Fails, with an error naming the op,
/// when the QNode behind `call` (a call of a circuit function) gets, in an operand for which
/// `isVaried` holds (one depending on a differentiated argument), a value its body passes to a
/// quantum op other than as a gate parameter: a QubitUnitary matrix, StatePrep amplitudes,
/// Hamiltonian coefficients. Its derivative would be lost.
mlir::LogicalResult checkOnlyGateParametersVary(mlir::func::CallOp call,
                                                llvm::function_ref<bool(mlir::Value)> isVaried);

/// Inlines the circuit functions whose results have a dynamic shape (QNodes with gates in
/// control flow) into their callers and erases them: bufferization passes back only results of
/// static shape. Runs once every derivative is built, since the rules see the calls.
void inlineDynamicallyShapedCircuits(mlir::ModuleOp module);

} // namespace kvant::gradient

#endif // KVANT_GRADIENT_QUANTUMDERIVATIVES_QUANTUMDERIVATIVES_H
