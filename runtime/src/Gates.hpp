// Gate dispatch: a kvant_gate_t plus parameters becomes one of the kernels in GateKernels.
#pragma once

#include "GateKernels.hpp"
#include "StateVector.hpp"

#include <cstdint>
#include <vector>

namespace kvant::rt {

struct GateInfo {
  const char *name;
  int numParams;
  int numWires; // -1: any number
};

// nullptr for an id outside gates.def.
const GateInfo *gateInfo(std::int64_t gate);

struct ControlWires {
  std::vector<std::size_t> wires;
  std::vector<bool> values; // same length as wires
};

// A gate reduced to the kernel that implements it. Controlled gates (CNOT, CRX, Toffoli, ...)
// are their base operation on the target wires plus built-in controls, so adjoint and extra
// user controls need no per-gate code.
struct Op {
  enum Kind { None, Matrix, Diagonal1, PauliX, Swap, TwoLevel, Parity, Scalar } kind = None;
  std::vector<std::size_t> targets;
  std::vector<std::size_t> builtinCtrls; // each must be 1
  std::vector<Complex> m;                // Matrix: dim x dim; Diagonal1: 2; TwoLevel: 2x2;
                                         // Parity: {even, odd}; Scalar: 1
  std::uint64_t r0 = 0, r1 = 0;          // TwoLevel basis states
};

// Validates a gate call (id, arity, wires, controls) without touching the state.
void validateGate(const StateVector &sv, std::int64_t gate, const std::vector<double> &params,
                  const std::vector<std::size_t> &wires, const ControlWires &ctrls);
// The Op of a validated gate, with the adjoint already applied.
Op gateOp(std::int64_t gate, const std::vector<double> &params,
          const std::vector<std::size_t> &wires, bool adjoint);
// dOp/dparams[p] for every parameter p, as Ops of the same kind, targets and controls
// (not unitary). With `adjoint`, the derivatives of the adjoint gate.
std::vector<Op> gateDerivativeOps(std::int64_t gate, const std::vector<double> &params,
                                  const std::vector<std::size_t> &wires, bool adjoint);
Op unitaryOp(const std::vector<Complex> &matrix, const std::vector<std::size_t> &wires,
             bool adjoint);
void adjointInPlace(Op &op);
void execute(StateVector &sv, const Op &op, const ControlWires &user);

// matrix: 2^k x 2^k row-major with k = wires.size(); wires[0] is the matrix index's MSB.
void applyUnitary(StateVector &sv, const std::vector<Complex> &matrix,
                  const std::vector<std::size_t> &wires, const ControlWires &ctrls, bool adjoint);

kernels::Controls opControls(const StateVector &sv, const Op &op, const ControlWires &user);

// The op applied to the basis state phase * |index> of a numQubits-qubit register, when the
// result is again a basis state times a phase (permutations, diagonal and monomial gates, and
// any gate whose controls are not all met): updates index and phase and returns true. Returns
// false (index and phase unspecified) when the result is a superposition. Exact: a matrix
// column counts as a single entry only if the others are exactly zero.
bool applyToBasisState(const Op &op, const ControlWires &user, std::size_t numQubits,
                       std::uint64_t &index, Complex &phase);

} // namespace kvant::rt
