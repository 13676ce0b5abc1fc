//===- AdjointCircuits.h - circuit functions of the adjoint method ---------*- C++ -*-===//
//
// The circuit of p with its register recording the gates (quantum.alloc {record_tape}), after
// which the runtime's adjoint sweep runs backwards over the recorded gates:
//  - @q.with_jacobian.adjoint(p, args) -> (results, J): one vector per measurement entry;
//  - @q.vjp.adjoint(p, args, ȳ) -> ȳᵀJ (the VJP form): two vectors whatever the entries;
//  - @q.values(p, args) -> results: the circuit of p alone, whose rule calls @q.vjp.adjoint;
//  - @q.shiftable_jacobian.adjoint(p, args) -> (<O> of each variance, J_F): what second
//    derivatives through variances shift (ShiftCircuits.h).
// Each is made once per module; a second request returns the existing function.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_QUANTUMDERIVATIVES_ADJOINTCIRCUITS_H
#define KVANT_GRADIENT_QUANTUMDERIVATIVES_ADJOINTCIRCUITS_H

#include "QNodeAnalysis.h"

#include "mlir/IR/SymbolTable.h"

namespace kvant::gradient::circuits {

mlir::FailureOr<mlir::func::FuncOp> adjointCircuit(mlir::func::FuncOp qnode, const Circuit &circuit,
                                                   mlir::SymbolTableCollection &symbols);

mlir::FailureOr<mlir::func::FuncOp> adjointVJPCircuit(mlir::func::FuncOp qnode,
                                                      const Circuit &circuit,
                                                      mlir::SymbolTableCollection &symbols);

mlir::FailureOr<mlir::func::FuncOp> valuesCircuit(mlir::func::FuncOp qnode, const Circuit &circuit,
                                                  mlir::SymbolTableCollection &symbols);

mlir::FailureOr<mlir::func::FuncOp> adjointShiftableCircuit(mlir::func::FuncOp qnode,
                                                            const Circuit &circuit,
                                                            mlir::SymbolTableCollection &symbols);

} // namespace kvant::gradient::circuits

#endif // KVANT_GRADIENT_QUANTUMDERIVATIVES_ADJOINTCIRCUITS_H
