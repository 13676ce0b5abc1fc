// Adjoint differentiation (Jones & Gacon, arXiv:2009.02823): a tape of the gates applied while
// recording, and one backward sweep that yields <lambda| dU |phi> for every recorded parameter.
#pragma once

#include "Gates.hpp"
#include "Observables.hpp"
#include "StateVector.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kvant::rt {

// One recorded gate. Recording must cost little next to applying the gate (the forward run of
// a gradient is timed with the tape on), so an entry keeps the Op that was executed (moved in,
// not copied) and the gate's parameters; derivatives are worked out during the sweep.
struct TapeEntry {
  std::int64_t gate = -1; // kvant_gate_t; -1 for a QubitUnitary
  bool adjoint = false;
  std::uint8_t numParams = 0;
  double params[3] = {0.0, 0.0, 0.0};
  Op op;              // the forward operation as applied (adjoint flag already folded in)
  ControlWires ctrls; // user-level controls
};

// The state before entry `begin`, kept while recording (AdjointSegments.hpp): entries
// [begin, end) are a segment of one-qubit gates that the sweep differentiates without stepping
// phi back through them. Either a copy of the state, or, when the register knew its state to
// be a basis state there (the usual first layer of a circuit, on |0...0>), just that:
// phase * |index>, and `state` is a view without amplitudes that only carries the size.
struct Checkpoint {
  std::size_t begin = 0, end = 0;
  StateVector state;
  bool basis = false;
  std::uint64_t index = 0;
  Complex phase{1.0, 0.0};
};

struct Tape {
  std::vector<TapeEntry> entries;
  std::size_t numParams = 0;
  std::vector<Checkpoint> checkpoints; // ascending, disjoint; may be empty
  std::size_t checkpointBytes = 0;
  // Set when something the backward sweep cannot undo happened while recording (a mid-circuit
  // measurement, a state preparation after gates); reported by the Jacobian/VJP calls.
  std::string invalidReason;

  void clear() {
    entries.clear();
    numParams = 0;
    checkpoints.clear();
    checkpointBytes = 0;
    invalidReason.clear();
  }
  // Room for one more entry, so that recording after the gate ran cannot fail half-way.
  void reserveOne() {
    if (entries.size() == entries.capacity())
      entries.reserve(entries.empty() ? 64 : 2 * entries.size());
  }
};

// Given the final state `phi` of the taped circuit and the vectors lambda_k (k = 0..m-1) that
// start the backward sweep, returns out[k * numParams + p] = 2 Re <lambda_k| dU_p |phi_before>
// accumulated over the tape, i.e. d/dtheta_p of <phi|A_k|phi> when lambda_k = A_k phi for a
// Hermitian A_k. phi and lambdas are consumed (their contents afterwards are unspecified).
std::vector<double> adjointSweep(const Tape &tape, StateVector &phi,
                                 std::vector<StateVector> &lambdas);
// The same with phi left unchanged: a working copy of it is made only if the sweep needs one
// (checkpointed tapes often do not, see AdjointSegments.hpp).
std::vector<double> adjointSweepFrom(const Tape &tape, const StateVector &phi,
                                     std::vector<StateVector> &lambdas);

} // namespace kvant::rt
