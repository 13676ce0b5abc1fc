// Forward gates on large registers, applied in cache-sized blocks.
//
// The C API queues the (already validated) gates of a large register and applies them here
// when something needs the state (any other API call on the register). A run of gates that
// together touch at most B index bits acts separately on each block of 2^B amplitudes (the
// indices that agree on every other bit), so each block is copied into an L2-sized buffer, the
// whole run is applied there by the ordinary kernels, and the block is copied back: one pass
// over the state per run instead of one per gate. A run also takes later gates ahead of
// earlier ones it passed over when they share no bit (they commute), so a layer of gates on
// more than B bits does not end it (optionally, inside the L2 block the run is split the same
// way into sub-runs on L1-sized blocks). One-qubit gates on one wire are fused, and inside a
// block the one-qubit gates before a CNOT are applied together with it (bricks; a one-qubit
// gate whose CNOT misses a run waits for the run that has it). Results equal
// gate-by-gate application up to rounding (a few ulp: commuting gates are multiplied in another
// order); tests compare the two with KVANT_RT_FORWARD_BLOCK_QUBITS / KVANT_RT_FORWARD_INNER_QUBITS.
#pragma once

#include "Gates.hpp"
#include "StateVector.hpp"

#include <cstddef>
#include <vector>

namespace kvant::rt {

struct PendingGate {
  Op op;
  ControlWires ctrls;
};

// Block qubits for the forward pass on a register of numQubits qubits; 0: apply gates one by
// one as they come (small registers, where a gate is cheaper than the queueing).
unsigned forwardBlockQubits(std::size_t numQubits);

// A copy of the state between two queued gates: after the first `position` of them.
struct Snapshot {
  std::size_t position;
  StateVector *dest; // same size as the state
};

// Applies `gates` in order to sv (blocked where that helps) and clears the list. Snapshots
// (ascending positions) are written while the gates are applied: where a blocked run goes on
// past a snapshot's position, each block is written out at that point of the run (no extra
// pass over the state, no run ended early); otherwise the state is copied between runs.
void applyPending(StateVector &sv, std::vector<PendingGate> &gates,
                  const std::vector<Snapshot> &snapshots = {});

} // namespace kvant::rt
