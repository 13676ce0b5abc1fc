// The fused passes of the adjoint backward sweep (Jones & Gacon, arXiv:2009.02823): each reads
// phi and lambda once, accumulates the gate's derivative term, and steps both back through the
// gate, so a parametrised gate costs one pass over the two vectors.
#pragma once

#include "GateKernels.hpp"
#include "StateVector.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace kvant::rt::adjoint {

// A one-parameter one-target rotation in generator form. The four one-qubit generators kvant's
// parametrised one-target gates are built from (RX, RY, RZ, PhaseShift; Rot and the controlled
// forms are products/restrictions of them):
enum class Sigma : std::uint8_t { X, Y, Z, P1 /* |1><1| */ };

// U^-1 = a I + b sigma, and dU/dtheta = (i k) sigma U. Then the derivative term of the backward
// sweep, Re <lambda| dU |phi_before> = Re <lambda| (i k) sigma |phi_after>, needs sigma applied
// to phi_after only -- no copy of phi, no dense derivative matrix.
struct RotationStep {
  Sigma sigma;
  double a;
  Complex b;
  double k;
};

// exp(-i s theta sigma / 2) for a Pauli sigma; s = -1 for the adjoint gate.
RotationStep pauliRotation(Sigma sigma, double theta, double s);
// diag(1, e^{i s theta}).
RotationStep phaseRotation(double theta, double s);

constexpr std::size_t kMaxChain = 4;

// Steps phi and lambda back through the rotations steps[0], steps[1], ... (in that order: the
// reverse of the order they were applied in), all acting on target `bit` under controls `c`,
// in one pass. out[j] = Re <lambda_j| dU_j |phi_before_j> (without the factor 2). phi is
// written only if storePhi (with several lambdas the last pass moves phi).
void rotationChain(StateVector &phi, StateVector &lam, bool storePhi, unsigned bit,
                   const kernels::Controls &c, const RotationStep *steps, std::size_t numSteps,
                   double *out);

// The general forms, for the rarer parametrised gates (two-target matrices, Givens rotations,
// parity phases): the inverse and the derivatives as local matrices on the amplitude groups.
struct LocalOp {
  std::vector<std::uint64_t> offsets; // group members relative to the base index
  std::vector<Complex> m;             // dim x dim
};
constexpr std::size_t kMaxParamsPerGate = 3;
// phi <- U^-1 phi (if updatePhi; else phi already holds phi_before),
// out[p] = Re <lambda| dU_p |phi_before>, lambda <- U^-1 lambda. fixed: target + control bits.
void groupStep(StateVector &phi, StateVector &lam, bool updatePhi,
               const std::vector<unsigned> &fixed, std::uint64_t ctrlValues, const LocalOp &inv,
               const std::vector<LocalOp> &derivs, double *out);
// The same for gates that multiply each amplitude by one of two phases chosen by the parity of
// its bits in `mask` (MultiRZ, IsingZZ; GlobalPhase with mask 0): u / d[p] = {even, odd}.
void phaseStep(StateVector &phi, StateVector &lam, bool updatePhi,
               const std::vector<unsigned> &ctrlBits, std::uint64_t ctrlValues, std::uint64_t mask,
               std::array<Complex, 2> u, const std::vector<std::array<Complex, 2>> &d, double *out);

} // namespace kvant::rt::adjoint
