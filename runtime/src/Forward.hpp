// Forward gates on large registers, applied in cache-sized blocks.
//
// The C API queues the (already validated) gates of a large register and applies them here
// when something needs the state (any other API call on the register). A run of consecutive
// gates that together touch at most B index bits acts separately on each block of 2^B
// amplitudes (the indices that agree on every other bit), so each block is copied into an
// L2-sized buffer, the whole run is applied there by the ordinary kernels, and the block is
// copied back: one pass over the state per run instead of one per gate. Every amplitude goes
// through exactly the same arithmetic in the same order as gate by gate, so results are
// bit-for-bit identical (tests check this with KVANT_RT_FORWARD_BLOCK_QUBITS).
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

// Applies `gates` in order to sv (blocked where that helps) and clears the list.
void applyPending(StateVector &sv, std::vector<PendingGate> &gates);

} // namespace kvant::rt
