//===- GateTable.h - gates.def / observables.def as C++ tables -------------------------===//
//
// The single source of truth for gate names, arities and C ABI ids is the runtime's X-macro
// tables; the verifier, the runtime lowering and the Python extension all read them from here.
//
//===----------------------------------------------------------------------------------===//
#ifndef KVANT_QUANTUM_IR_GATETABLE_H
#define KVANT_QUANTUM_IR_GATETABLE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace kvant::quantum {

struct GateInfo {
  llvm::StringRef name;
  int64_t id; // kvant_gate_t value
  int64_t numParams;
  int64_t numWires; // -1: any number >= 1 (GlobalPhase: >= 0)
};

struct ObservableInfo {
  llvm::StringRef name;
  int64_t id; // kvant_observable_t value
};

llvm::ArrayRef<GateInfo> getGateTable();
llvm::ArrayRef<ObservableInfo> getObservableTable();
std::optional<GateInfo> lookupGate(llvm::StringRef name);
std::optional<ObservableInfo> lookupObservable(llvm::StringRef name);

/// How d f / d theta follows from f at shifted values of a gate parameter theta, given the
/// spectrum of the parameter's generator (docs/gradients.md):
///  - TwoTerm: eigenvalue differences {1} (RX, PhaseShift, IsingZZ, ...):
///      f'(t) = [f(t + pi/2) - f(t - pi/2)] / 2;
///  - FourTerm: differences {1/2, 1} (CRX, IsingXY, excitations, any controlled rotation):
///      f'(t) = c+ [f(t + pi/2) - f(t - pi/2)] - c- [f(t + 3pi/2) - f(t - 3pi/2)],
///      c+- = (sqrt(2) +- 1) / (4 sqrt(2)).
enum class ShiftRule { TwoTerm, FourTerm };

/// The rule for the parameters of gate `name`, applied with extra controls or not; nullopt for
/// a gate kvant knows no rule for.
std::optional<ShiftRule> lookupShiftRule(llvm::StringRef name, bool extraControls);

} // namespace kvant::quantum

#endif // KVANT_QUANTUM_IR_GATETABLE_H
