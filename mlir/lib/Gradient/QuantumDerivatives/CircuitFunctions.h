//===- CircuitFunctions.h - functions derived from a QNode, and what they share ---*- C++ -*-===//
//
// Every function the quantum derivatives build from a QNode @q is a private function @q.<suffix>
// next to it, made once per module, marked with its role and the QNode it comes from
// (#gradient.circuit, GradientAttrs.td). Most are
// clones of q's body in which the k-th gate parameter of a run is read from a vector p (the
// circuit of p); the skeleton, which fills p, is the complementary clone of q's classical ops.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_QUANTUMDERIVATIVES_CIRCUITFUNCTIONS_H
#define KVANT_GRADIENT_QUANTUMDERIVATIVES_CIRCUITFUNCTIONS_H

#include "QNodeAnalysis.h"
#include "kvant/Gradient/IR/GradientDialect.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace kvant::gradient::circuits {

/// A private function next to `qnode` named `<qnode>.<suffix>`, or the existing one; the flag
/// says whether it was created (with an empty entry block). One with results of dynamic shape,
/// which the bufferization pipeline cannot pass back, is marked gradient.inline_when_expanded
/// (GradientDialect.td): inlined into its callers once every derivative is built.
std::pair<mlir::func::FuncOp, bool> getOrCreateFunction(mlir::func::FuncOp qnode,
                                                        llvm::StringRef suffix,
                                                        mlir::FunctionType type,
                                                        mlir::SymbolTableCollection &symbols);

/// (p, <q's arguments>) -> (<q's results>[, J of tensor<MxGxf64>]).
mlir::FunctionType circuitType(mlir::OpBuilder &b, mlir::func::FuncOp qnode, const Circuit &circuit,
                               bool withJacobian);

/// Marks `fn` as the circuit function of `role` derived from `qnode` (#gradient.circuit).
void markCircuit(mlir::func::FuncOp fn, mlir::func::FuncOp qnode, CircuitRole role);

/// One element per gate parameter of a run of `qnode` on `args`, in the order the gates run:
/// element(b, gate, i, mapping) for parameter i of `gate` (mapping: QNode values to clones).
/// Emitted at the builder from the QNode's classical ops; with gates in control flow, a first
/// pass counts the parameters and a second fills a vector of that size.
/// Replaces each long run of `inserts` (in the order made) in which every insert writes the
/// previous one's result at the next index by one tensor.insert_slice of a tensor.from_elements:
/// one op for bufferization, whose analysis of a chain of G inserts takes O(G^2) or worse, and
/// for reverse mode.
void batchInserts(llvm::ArrayRef<mlir::tensor::InsertOp> inserts);

mlir::FailureOr<mlir::Value>
emitParameterVector(mlir::OpBuilder &b, mlir::Location loc, mlir::func::FuncOp qnode,
                    mlir::ValueRange args, const Circuit &circuit, mlir::Type elementType,
                    llvm::function_ref<mlir::Value(mlir::OpBuilder &, quantum::DifferentiableGate,
                                                   unsigned, mlir::IRMapping &)>
                        element);

/// Clones `qnode`'s body (without its return) into `fn`, whose argument 0 is the parameter
/// vector p and the rest are the QNode's arguments; the k-th gate parameter of the run is read
/// from p[k]. Returns the returned values and the mapping; `count` is set to the number of
/// parameters the run read.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
cloneCircuitOfP(mlir::func::FuncOp qnode, mlir::func::FuncOp fn, mlir::OpBuilder &b,
                mlir::IRMapping &mapping, mlir::Value &count);

/// The results of a circuit call as one vector of numOutputs elements.
mlir::Value flatten(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange results);

mlir::Value indexConstant(mlir::OpBuilder &b, mlir::Location loc, int64_t value);

/// Row r of a 2-D tensor, as tensor<1xN> (keepRank) or tensor<N>, N the matrix's (static or
/// dynamic) column count.
mlir::Value matrixRow(mlir::OpBuilder &b, mlir::Location loc, mlir::Value matrix, int64_t r,
                      bool keepRank);

/// `scale` (a scalar) times every element of `tensor`.
mlir::Value scaled(mlir::OpBuilder &b, mlir::Location loc, mlir::Value scale, mlir::Value tensor);

/// `matrix` with row `target` replaced by row target + scale * row source.
mlir::Value addScaledRow(mlir::OpBuilder &b, mlir::Location loc, mlir::Value matrix, int64_t target,
                         int64_t source, mlir::Value scale);

} // namespace kvant::gradient::circuits

#endif // KVANT_GRADIENT_QUANTUMDERIVATIVES_CIRCUITFUNCTIONS_H
