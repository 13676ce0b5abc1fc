//===- ParameterThreading.h - QNode bodies with a gate-parameter counter -----*- C++ -*-===//
//
// A QNode's gate parameters are numbered in the order the gates run, across loops and branches,
// so the k-th parameter of a run is p[k] whatever path the run takes (docs/gradients.md, "The
// QNode split"). Every function the derivative builds from a QNode body — the count of its
// parameters, the skeleton filling p, the circuit reading p, the shift rule of each parameter —
// is a clone of the body that carries some values (the counter first) through its control flow
// and updates them at each differentiable gate. The quantum register already flows through
// every scf op around gates, so those ops get the threaded values next to it.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_QUANTUMDERIVATIVES_PARAMETERTHREADING_H
#define KVANT_GRADIENT_QUANTUMDERIVATIVES_PARAMETERTHREADING_H

#include "kvant/Quantum/IR/QuantumOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/DenseSet.h"

#include <functional>

namespace kvant::gradient {

/// At a differentiable gate: `gate` is the QNode's op, `clone` its clone (null when quantum ops
/// are dropped); the builder is placed before the clone. Updates `state` in place.
using GateVisitor =
    std::function<void(mlir::OpBuilder &b, quantum::DifferentiableGate gate, mlir::Operation *clone,
                       mlir::IRMapping &mapping, llvm::SmallVectorImpl<mlir::Value> &state)>;

class ThreadedClone {
public:
  /// keepQuantum: clone the circuit (quantum ops and all), or only the classical ops the
  /// quantum ones do not feed (the skeleton).
  ThreadedClone(bool keepQuantum, GateVisitor onGate)
      : keepQuantum(keepQuantum), onGate(std::move(onGate)) {}

  /// Clones the ops of `block` but its terminator at the builder, `state` holding the threaded
  /// values on entry and on exit. Fails, with an error at the op, on control flow it cannot
  /// thread through.
  mlir::LogicalResult cloneOps(mlir::Block &block, mlir::OpBuilder &b, mlir::IRMapping &mapping,
                               llvm::SmallVectorImpl<mlir::Value> &state);

private:
  mlir::LogicalResult cloneOp(mlir::Operation &op, mlir::OpBuilder &b, mlir::IRMapping &mapping,
                              llvm::SmallVectorImpl<mlir::Value> &state);
  mlir::LogicalResult cloneFor(mlir::scf::ForOp loop, mlir::OpBuilder &b, mlir::IRMapping &mapping,
                               llvm::SmallVectorImpl<mlir::Value> &state);
  mlir::LogicalResult cloneWhile(mlir::scf::WhileOp loop, mlir::OpBuilder &b,
                                 mlir::IRMapping &mapping,
                                 llvm::SmallVectorImpl<mlir::Value> &state);
  mlir::LogicalResult cloneBranches(mlir::Operation *op, mlir::OpBuilder &b,
                                    mlir::IRMapping &mapping,
                                    llvm::SmallVectorImpl<mlir::Value> &state);
  /// Whether `v` survives in the clone (quantum values do only in the circuit).
  bool kept(mlir::Value v) const;
  /// The clones of the kept values among `values`; fails when one of them was dropped.
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  keptClones(mlir::Operation *at, mlir::ValueRange values, mlir::IRMapping &mapping) const;
  /// Maps the kept values among `from` to `to` in order and marks the others dropped.
  void mapKept(mlir::ValueRange from, mlir::ValueRange to, mlir::IRMapping &mapping);
  bool usesDropped(mlir::Operation &op) const;

  bool keepQuantum;
  GateVisitor onGate;
  llvm::DenseSet<mlir::Value> dropped;
};

/// Whether `op` is of the quantum dialect / has quantum ops in its regions.
bool isQuantumOp(mlir::Operation *op);
bool containsQuantumOps(mlir::Operation *op);

} // namespace kvant::gradient

#endif // KVANT_GRADIENT_QUANTUMDERIVATIVES_PARAMETERTHREADING_H
