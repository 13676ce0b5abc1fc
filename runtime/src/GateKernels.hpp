// In-place kernels on a StateVector. Bits are positions in the basis index (see
// StateVector::bitOf); callers have validated them (in range, pairwise distinct).
//
// Every kernel takes a Controls: the kernel acts only on the subspace where each control bit
// has its required value, which is how CNOT, Toffoli, CRX, ... and user-level qml.ctrl are all
// served by the same code.
#pragma once

#include "StateVector.hpp"

#include <cstdint>
#include <vector>

namespace kvant::rt::kernels {

struct Controls {
  std::vector<unsigned> bits;
  std::uint64_t values = 0; // the subset of `bits` (as a mask) that must be 1
  bool empty() const { return bits.empty(); }
};

// `also` (optional): a second state of the same size that gets the same operation in the same
// pass over memory (the adjoint sweep moves phi and lambda back together).

// m: row-major 2x2.
void applyMatrix1(StateVector &sv, unsigned bit, const Complex *m, const Controls &c,
                  StateVector *also = nullptr);
void applyDiagonal1(StateVector &sv, unsigned bit, Complex d0, Complex d1, const Controls &c,
                    StateVector *also = nullptr);
void applyPauliX(StateVector &sv, unsigned bit, const Controls &c, StateVector *also = nullptr);

// A two-qubit brick in one pass over memory: the 2x2 matrix ma (row-major; nullptr: identity)
// on bit a and mb on bit b (a != b; they commute), then, with cx = 1, X on b controlled by a
// (a CNOT), with cx = 0 nothing more; with `post` the CNOT comes first and the two matrices
// after it. The forward pass fuses the one-qubit gates next to a CNOT into it this way
// (Forward.cpp): one pass instead of three, the arithmetic unchanged.
//
// With a selector bit sel (not 0, a or b; not with `post`) and selX (a or b): where sel is 1,
// X on selX first -- a CNOT (sel, selX) before the brick, in the same pass (the forward pass
// merges a CNOT without one-qubit gates of its own into the next brick on its target this
// way); the X is a renaming of registers, so the brick's arithmetic stays what it was.
constexpr unsigned kNoSelector = ~0u;
void applyBrick2(StateVector &sv, unsigned a, const Complex *ma, unsigned b, const Complex *mb,
                 int cx, bool post = false, unsigned sel = kNoSelector,
                 unsigned selX = kNoSelector);

// m: row-major 4x4; `hi` is the most significant bit of the matrix index.
void applyMatrix2(StateVector &sv, unsigned hi, unsigned lo, const Complex *m, const Controls &c);
void applySwap(StateVector &sv, unsigned a, unsigned b, const Controls &c,
               StateVector *also = nullptr);

// Dense 2^k x 2^k row-major matrix; bits[0] is the most significant bit of the matrix index.
// Does not assume unitarity (also used to apply Hermitian observables).
void applyMatrixN(StateVector &sv, const std::vector<unsigned> &bits, const Complex *m,
                  const Controls &c);

// A 2x2 matrix m acting on the two basis states r0, r1 of the k-qubit subspace `bits`
// (identity on the other 2^k - 2): Givens rotations like DoubleExcitation.
void applyTwoLevel(StateVector &sv, const std::vector<unsigned> &bits, std::uint64_t r0,
                   std::uint64_t r1, const Complex *m, const Controls &c);

// Multiplies each amplitude by `even` or `odd` according to the parity of its bits in `mask`:
// MultiRZ and IsingZZ.
void applyParityPhase(StateVector &sv, std::uint64_t mask, Complex even, Complex odd,
                      const Controls &c);

// Multiplies every (control-selected) amplitude by s: GlobalPhase.
void applyScalar(StateVector &sv, Complex s, const Controls &c);

// <psi| M |psi> for a dense matrix on `bits` (same layout as applyMatrixN), without copying
// the state.
Complex expvalMatrixN(const StateVector &sv, const std::vector<unsigned> &bits, const Complex *m);

} // namespace kvant::rt::kernels
