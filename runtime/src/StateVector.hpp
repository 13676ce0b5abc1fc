// The simulator state and the bit-index arithmetic shared by all kernels.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace kvant::rt {

using Complex = std::complex<double>;

// 2^30 amplitudes are 16 GiB; anything larger cannot be a serious request on the machines we
// target, and the cap keeps every index and 2^k computation comfortably inside 64 bits.
constexpr std::size_t kMaxQubits = 30;

// Thrown for every invalid request; the C API turns it into the sticky error message.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// std::complex operator* goes through __muldc3 (Annex G inf/nan recovery) unless -ffast-math;
// the kernels never see inf/nan on valid input, so they use the plain formula.
inline Complex cmul(Complex a, Complex b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}
inline Complex cmulConj(Complex a, Complex b) { // conj(a) * b
  return {a.real() * b.real() + a.imag() * b.imag(), a.real() * b.imag() - a.imag() * b.real()};
}

class StateVector {
public:
  // |0...0>.
  explicit StateVector(std::size_t numQubits);
  StateVector(const StateVector &other);
  StateVector &operator=(const StateVector &other);
  StateVector(StateVector &&other) noexcept;
  StateVector &operator=(StateVector &&other) noexcept;
  ~StateVector();

  // A state whose amplitudes are left unset, for callers that overwrite every one of them
  // (saves the zeroing pass over a large state).
  static StateVector uninitialized(std::size_t numQubits);

  // A non-owning view of 2^numQubits amplitudes at `amps` (64-byte aligned), so the kernels can
  // run on a buffer the caller manages (the adjoint sweep's cache blocks); it never frees them.
  // Copying a view makes an owning copy.
  static StateVector view(Complex *amps, std::size_t numQubits);

  std::size_t numQubits() const { return numQubits_; }
  std::size_t size() const { return size_; }
  Complex *data() { return amps_; }
  const Complex *data() const { return amps_; }

  // Wire 0 is the most significant bit of the basis index (PennyLane's order).
  unsigned bitOf(std::size_t wire) const { return static_cast<unsigned>(numQubits_ - 1 - wire); }

  double normSquared() const;
  // Sets every amplitude to 0 (in parallel, which also spreads first-touch page faults).
  void zero();
  // Copies the amplitudes of a state of the same size.
  void copyFrom(const StateVector &other);

private:
  StateVector(std::size_t numQubits, Complex *amps); // a view
  struct NoInit {};
  StateVector(std::size_t numQubits, NoInit);
  std::size_t numQubits_;
  std::size_t size_;
  // 64-byte aligned (a cache line; also what AVX loads like), not std::vector: vector would
  // value-initialise serially, and glibc's large blocks are only 16-byte aligned.
  Complex *amps_;
  bool owned_ = true;
};

// Validates wire indices for a register of `numQubits` qubits; `what` names the argument in
// the error message.
void checkWires(const std::vector<std::size_t> &wires, std::size_t numQubits, const char *what);
// Rejects wires that occur in both lists (or twice in one).
void checkDisjoint(const std::vector<std::size_t> &a, const std::vector<std::size_t> &b,
                   const char *what);

std::string formatWires(const std::vector<std::size_t> &wires);

} // namespace kvant::rt
