//===- GateTable.cpp - C++ view of the runtime's gate/observable tables ---------------===//

#include "kvant/Quantum/IR/GateTable.h"

using namespace kvant::quantum;

namespace {
// The ids are the enumerator values of kvant_gate_t / kvant_observable_t: both enums are built
// from the same .def files in the same order, so a running counter reproduces them.
enum : int64_t {
#define KVANT_GATE(id, name, nparams, nwires) GateId_##id,
#include "kvant/gates.def"
#undef KVANT_GATE
};
enum : int64_t {
#define KVANT_OBSERVABLE(id, name) ObsId_##id,
#include "kvant/observables.def"
#undef KVANT_OBSERVABLE
};

const GateInfo kGates[] = {
#define KVANT_GATE(id, name, nparams, nwires) {name, GateId_##id, nparams, nwires},
#include "kvant/gates.def"
#undef KVANT_GATE
};

const ObservableInfo kObservables[] = {
#define KVANT_OBSERVABLE(id, name) {name, ObsId_##id},
#include "kvant/observables.def"
#undef KVANT_OBSERVABLE
};
} // namespace

llvm::ArrayRef<GateInfo> kvant::quantum::getGateTable() { return kGates; }
llvm::ArrayRef<ObservableInfo> kvant::quantum::getObservableTable() { return kObservables; }

std::optional<GateInfo> kvant::quantum::lookupGate(llvm::StringRef name) {
  for (const GateInfo &g : kGates)
    if (g.name == name)
      return g;
  return std::nullopt;
}

std::optional<ObservableInfo> kvant::quantum::lookupObservable(llvm::StringRef name) {
  for (const ObservableInfo &o : kObservables)
    if (o.name == name)
      return o;
  return std::nullopt;
}

std::optional<ShiftRule> kvant::quantum::lookupShiftRule(llvm::StringRef name, bool extraControls) {
  // Generators with eigenvalues {0, 1} (phases) keep them under extra controls; generators
  // with eigenvalues {+-1/2} gain a 0 under a control, hence the four-term rule.
  if (name == "PhaseShift" || name == "ControlledPhaseShift" || name == "GlobalPhase")
    return ShiftRule::TwoTerm;
  if (name == "RX" || name == "RY" || name == "RZ" || name == "Rot" || name == "IsingXX" ||
      name == "IsingYY" || name == "IsingZZ" || name == "MultiRZ")
    return extraControls ? ShiftRule::FourTerm : ShiftRule::TwoTerm;
  if (name == "CRX" || name == "CRY" || name == "CRZ" || name == "CRot" || name == "IsingXY" ||
      name == "SingleExcitation" || name == "DoubleExcitation")
    return ShiftRule::FourTerm;
  return std::nullopt;
}
