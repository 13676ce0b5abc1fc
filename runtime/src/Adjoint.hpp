// Adjoint differentiation (Jones & Gacon, arXiv:2009.02823): a tape of the gates applied while
// recording, and one backward sweep that yields <lambda| dU |phi> for every recorded parameter.
#pragma once

#include "Gates.hpp"
#include "Observables.hpp"
#include "StateVector.hpp"

#include <cstdint>
#include <vector>

namespace kvant::rt {

struct TapeEntry {
  Op op;                   // the forward operation as applied (adjoint flag already folded in)
  ControlWires ctrls;      // user-level controls
  std::vector<Op> derivs;  // dOp/dtheta_p, one per recorded parameter (empty: fixed gate)
};

struct Tape {
  std::vector<TapeEntry> entries;
  std::size_t numParams = 0;
  // Set when something the backward sweep cannot undo happened while recording (a mid-circuit
  // measurement, a state preparation after gates); reported by the Jacobian/VJP calls.
  std::string invalidReason;

  void clear() {
    entries.clear();
    numParams = 0;
    invalidReason.clear();
  }
};

// Given the final state `phi` of the taped circuit and the vectors lambda_k (k = 0..m-1) that
// start the backward sweep, returns out[k * numParams + p] = 2 Re <lambda_k| dU_p |phi_before>
// accumulated over the tape, i.e. d/dtheta_p of <phi|A_k|phi> when lambda_k = A_k phi for a
// Hermitian A_k. phi and lambdas are consumed (overwritten).
std::vector<double> adjointSweep(const Tape &tape, StateVector &phi,
                                 std::vector<StateVector> &lambdas);

} // namespace kvant::rt
