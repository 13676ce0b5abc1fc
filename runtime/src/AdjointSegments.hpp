// Segments of one-qubit gates in the adjoint sweep: checkpoints of phi taken while recording,
// so that the sweep steps only the lambdas back through such a segment (docs/gradients.md,
// "Checkpointed segments of one-qubit gates").
//
// Why: the plain sweep (Adjoint.cpp) steps phi and every lambda back through every gate and
// reads both at each parametrised gate, about three forward runs' work for one gradient, and
// phi's half only recomputes states the forward run had. In a segment of uncontrolled
// one-qubit gates (an ansatz layer of RY, RZ on every wire) gates on different wires commute,
// so all its derivatives follow from 2x2 "cross reduced matrices" of phi and lambda taken at
// one point (below), one read of both vectors; phi there is the checkpoint. Where there is no
// checkpoint (budget, registers that do not queue, a flush mid-segment) the plain sweep runs.
#pragma once

#include "Adjoint.hpp"
#include "Forward.hpp"
#include "Gates.hpp"

#include <array>

#include <cstddef>
#include <vector>

namespace kvant::rt {

// Whether a recorded gate may be part of a segment: one target wire, no controls of any kind,
// an operation with a 2x2 form (None, one-target Matrix, Diagonal1, PauliX).
bool segmentGate(const Op &op, const ControlWires &ctrls);

// Recording policy: a finished segment with at least segmentMinParams() parameters gets a
// checkpoint while the tape's checkpoints stay within checkpointBudgetBytes().
std::size_t segmentMinParams();
std::size_t checkpointBudgetBytes();

// A checkpointed segment prepared for the sweep. Its derivatives are taken at the segment's
// START, where phi is the checkpoint itself (read, never copied or changed): with P the gates
// before gate j on its wire q and V the whole segment, lambda_start = V^dag lambda_end and
//   <lambda_end| (dU_j P)_q (other wires' gates) |phi_start> = <lambda_start| A |phi_start>,
//   A = P^dag U_j^dag dU_j P  on wire q.
// So the sweep steps only the lambdas back (through the segment: one fused 2x2 per wire, and
// through the parameter-free gates after it, all in one blocked forward-style pass) and reads
// phi from checkpoints.
using Mat2 = std::array<Complex, 4>; // row-major; index 0 = the wire's bit is 0

struct SegmentTerm {
  std::size_t param; // the tape's parameter index
  std::size_t wire;  // index into SegmentPlan::bits
  Mat2 a;            // derivative = 2 Re sum_ab a[a][b] M[a][b]
};

struct SegmentPlan {
  std::vector<SegmentTerm> terms;
  std::vector<unsigned> bits;    // index bits of the wires with parameters
  std::vector<PendingGate> undo; // lambda <- V^dag lambda: one fused 2x2 per wire
  std::size_t numParams = 0;
};

// false when [c.begin, c.end) cannot be handled this way (the plain sweep takes it then).
bool planSegment(const Tape &tape, const Checkpoint &c, std::size_t numQubits, SegmentPlan &plan);

// out[k * P + term.param] for every term, from phi (the checkpoint) and the lambdas at the
// segment's start. A basis-state checkpoint reads n + 1 amplitudes of each lambda instead of
// passes over both vectors.
void segmentDerivatives(const SegmentPlan &plan, const Checkpoint &start,
                        const std::vector<StateVector> &lambdas, double *out, std::size_t P);

// Whether the entries [lo, hi) of the tape that are not yet done can all be contracted
// through as an index permutation: no parameters, only X, CNOT and SWAP (no added controls),
// which map basis state i to M i + c over GF(2).
bool permutationGap(const Tape &tape, const std::vector<char> &done, std::size_t lo,
                    std::size_t hi);

// The derivatives of a segment that starts on a basis state (start.basis) when only a
// permutation gap (above) lies between its end and hi, the tape position the lambdas are at,
// and nothing before the segment needs the lambdas any more: the n + 1 amplitudes of lambda at
// the segment's start that the basis rule reads are contractions of lambda_hi with the product
// states V^dag |k>, permuted, all from one read of each lambda and without stepping it back
// (AdjointSegments.cpp, docs/gradients.md).
void segmentDerivativesThroughGap(const Tape &tape, const SegmentPlan &plan,
                                  const Checkpoint &start, std::size_t hi,
                                  const std::vector<char> &done,
                                  const std::vector<StateVector> &lambdas, double *out,
                                  std::size_t P);

} // namespace kvant::rt
