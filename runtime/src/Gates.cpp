#include "Gates.hpp"

#include "GateKernels.hpp"
#include "kvant/runtime.h"

#include <cmath>
#include <string>

namespace kvant::rt {
namespace {

const GateInfo kGates[] = {
#define KVANT_GATE(id, name, nparams, nwires) {name, nparams, nwires},
#include "kvant/gates.def"
#undef KVANT_GATE
};
static_assert(sizeof(kGates) / sizeof(kGates[0]) == KVANT_GATE_COUNT,
              "gate table out of sync with kvant_gate_t");

constexpr Complex I{0.0, 1.0};

Op matrixOp(std::vector<std::size_t> targets, std::vector<Complex> m) {
  Op op;
  op.kind = Op::Matrix;
  op.targets = std::move(targets);
  op.m = std::move(m);
  return op;
}

Op diagOp(std::size_t target, Complex d0, Complex d1) {
  Op op;
  op.kind = Op::Diagonal1;
  op.targets = {target};
  op.m = {d0, d1};
  return op;
}

std::vector<Complex> rxMatrix(double t) {
  const double c = std::cos(t / 2), s = std::sin(t / 2);
  return {c, -I * s, -I * s, c};
}
std::vector<Complex> ryMatrix(double t) {
  const double c = std::cos(t / 2), s = std::sin(t / 2);
  return {c, -s, s, c};
}
Op rzOp(std::size_t w, double t) {
  return diagOp(w, std::polar(1.0, -t / 2), std::polar(1.0, t / 2));
}
// Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi).
std::vector<Complex> rotMatrix(double phi, double theta, double omega) {
  const double c = std::cos(theta / 2), s = std::sin(theta / 2);
  return {std::polar(c, -(phi + omega) / 2), -std::polar(s, (phi - omega) / 2),
          std::polar(s, -(phi - omega) / 2), std::polar(c, (phi + omega) / 2)};
}
std::vector<Complex> pauliYMatrix() { return {0.0, -I, I, 0.0}; }

Op withControl(Op op, std::size_t ctrl) {
  op.builtinCtrls.insert(op.builtinCtrls.begin(), ctrl);
  return op;
}

Op makeOp(std::int64_t gate, const std::vector<double> &p, const std::vector<std::size_t> &w) {
  const double h = 1.0 / std::sqrt(2.0);
  switch (static_cast<kvant_gate_t>(gate)) {
  case KVANT_GATE_Identity:
    return Op{};
  case KVANT_GATE_Hadamard:
    return matrixOp({w[0]}, {h, h, h, -h});
  case KVANT_GATE_PauliX: {
    Op op;
    op.kind = Op::PauliX;
    op.targets = {w[0]};
    return op;
  }
  case KVANT_GATE_PauliY:
    return matrixOp({w[0]}, pauliYMatrix());
  case KVANT_GATE_PauliZ:
    return diagOp(w[0], 1.0, -1.0);
  case KVANT_GATE_S:
    return diagOp(w[0], 1.0, I);
  case KVANT_GATE_T:
    return diagOp(w[0], 1.0, Complex{std::sqrt(0.5), std::sqrt(0.5)});
  case KVANT_GATE_SX:
    return matrixOp({w[0]}, {{0.5, 0.5}, {0.5, -0.5}, {0.5, -0.5}, {0.5, 0.5}});
  case KVANT_GATE_PhaseShift:
    return diagOp(w[0], 1.0, std::polar(1.0, p[0]));
  case KVANT_GATE_RX:
    return matrixOp({w[0]}, rxMatrix(p[0]));
  case KVANT_GATE_RY:
    return matrixOp({w[0]}, ryMatrix(p[0]));
  case KVANT_GATE_RZ:
    return rzOp(w[0], p[0]);
  case KVANT_GATE_Rot:
    return matrixOp({w[0]}, rotMatrix(p[0], p[1], p[2]));
  case KVANT_GATE_CNOT:
    return withControl(makeOp(KVANT_GATE_PauliX, p, {w[1]}), w[0]);
  case KVANT_GATE_CY:
    return withControl(makeOp(KVANT_GATE_PauliY, p, {w[1]}), w[0]);
  case KVANT_GATE_CZ:
    return withControl(makeOp(KVANT_GATE_PauliZ, p, {w[1]}), w[0]);
  case KVANT_GATE_SWAP: {
    Op op;
    op.kind = Op::Swap;
    op.targets = {w[0], w[1]};
    return op;
  }
  case KVANT_GATE_ISWAP:
    return matrixOp({w[0], w[1]}, {1, 0, 0, 0, 0, 0, I, 0, 0, I, 0, 0, 0, 0, 0, 1});
  case KVANT_GATE_CSWAP:
    return withControl(makeOp(KVANT_GATE_SWAP, p, {w[1], w[2]}), w[0]);
  case KVANT_GATE_Toffoli:
    return withControl(withControl(makeOp(KVANT_GATE_PauliX, p, {w[2]}), w[1]), w[0]);
  case KVANT_GATE_CRX:
    return withControl(makeOp(KVANT_GATE_RX, p, {w[1]}), w[0]);
  case KVANT_GATE_CRY:
    return withControl(makeOp(KVANT_GATE_RY, p, {w[1]}), w[0]);
  case KVANT_GATE_CRZ:
    return withControl(makeOp(KVANT_GATE_RZ, p, {w[1]}), w[0]);
  case KVANT_GATE_CRot:
    return withControl(makeOp(KVANT_GATE_Rot, p, {w[1]}), w[0]);
  case KVANT_GATE_ControlledPhaseShift:
    return withControl(makeOp(KVANT_GATE_PhaseShift, p, {w[1]}), w[0]);
  case KVANT_GATE_IsingXX: {
    const double c = std::cos(p[0] / 2), s = std::sin(p[0] / 2);
    const Complex is = -I * s;
    return matrixOp({w[0], w[1]}, {c, 0, 0, is, 0, c, is, 0, 0, is, c, 0, is, 0, 0, c});
  }
  case KVANT_GATE_IsingYY: {
    const double c = std::cos(p[0] / 2), s = std::sin(p[0] / 2);
    const Complex is = I * s;
    return matrixOp({w[0], w[1]}, {c, 0, 0, is, 0, c, -is, 0, 0, -is, c, 0, is, 0, 0, c});
  }
  case KVANT_GATE_IsingXY: {
    const double c = std::cos(p[0] / 2), s = std::sin(p[0] / 2);
    const Complex is = I * s;
    return matrixOp({w[0], w[1]}, {1, 0, 0, 0, 0, c, is, 0, 0, is, c, 0, 0, 0, 0, 1});
  }
  case KVANT_GATE_IsingZZ: // = MultiRZ on two wires
  case KVANT_GATE_MultiRZ: {
    Op op;
    op.kind = Op::Parity;
    op.targets = w;
    op.m = {std::polar(1.0, -p[0] / 2), std::polar(1.0, p[0] / 2)};
    return op;
  }
  case KVANT_GATE_SingleExcitation:
  case KVANT_GATE_DoubleExcitation: {
    const double c = std::cos(p[0] / 2), s = std::sin(p[0] / 2);
    Op op;
    op.kind = Op::TwoLevel;
    op.targets = w;
    op.m = {c, -s, s, c};
    // |01> <-> |10> and |0011> <-> |1100>
    const bool single = gate == KVANT_GATE_SingleExcitation;
    op.r0 = single ? 0b01 : 0b0011;
    op.r1 = single ? 0b10 : 0b1100;
    return op;
  }
  case KVANT_GATE_GlobalPhase: {
    Op op;
    op.kind = Op::Scalar;
    op.targets = w;
    op.m = {std::polar(1.0, -p[0])};
    return op;
  }
  case KVANT_GATE_COUNT:
    break;
  }
  throw Error("internal: gate " + std::to_string(gate) + " has no implementation");
}

} // namespace

static void conjTransposeInPlace(std::vector<Complex> &m, std::size_t dim) {
  for (std::size_t r = 0; r < dim; ++r) {
    m[r * dim + r] = std::conj(m[r * dim + r]);
    for (std::size_t c = r + 1; c < dim; ++c) {
      const Complex a = m[r * dim + c];
      m[r * dim + c] = std::conj(m[c * dim + r]);
      m[c * dim + r] = std::conj(a);
    }
  }
}

void adjointInPlace(Op &op) {
  switch (op.kind) {
  case Op::None:
  case Op::PauliX:
  case Op::Swap:
    return; // self-inverse
  case Op::Matrix:
    conjTransposeInPlace(op.m, std::size_t{1} << op.targets.size());
    return;
  case Op::TwoLevel:
    conjTransposeInPlace(op.m, 2);
    return;
  case Op::Diagonal1:
  case Op::Parity:
  case Op::Scalar:
    for (Complex &x : op.m)
      x = std::conj(x);
    return;
  }
}

namespace {

kernels::Controls toKernelControls(const StateVector &sv, const std::vector<std::size_t> &builtin,
                                   const ControlWires &user) {
  kernels::Controls c;
  for (std::size_t w : builtin) {
    c.bits.push_back(sv.bitOf(w));
    c.values |= std::uint64_t{1} << sv.bitOf(w);
  }
  for (std::size_t i = 0; i < user.wires.size(); ++i) {
    c.bits.push_back(sv.bitOf(user.wires[i]));
    if (user.values[i])
      c.values |= std::uint64_t{1} << sv.bitOf(user.wires[i]);
  }
  return c;
}

std::vector<unsigned> toBits(const StateVector &sv, const std::vector<std::size_t> &wires) {
  std::vector<unsigned> bits;
  bits.reserve(wires.size());
  for (std::size_t w : wires)
    bits.push_back(sv.bitOf(w));
  return bits;
}

void applyMatrixOp(StateVector &sv, const std::vector<unsigned> &bits, const Complex *m,
                   const kernels::Controls &c) {
  if (bits.size() == 1)
    kernels::applyMatrix1(sv, bits[0], m, c);
  else if (bits.size() == 2)
    kernels::applyMatrix2(sv, bits[0], bits[1], m, c);
  else
    kernels::applyMatrixN(sv, bits, m, c);
}

} // namespace

kernels::Controls opControls(const StateVector &sv, const Op &op, const ControlWires &user) {
  return toKernelControls(sv, op.builtinCtrls, user);
}

void execute(StateVector &sv, const Op &op, const ControlWires &user) {
  const kernels::Controls c = toKernelControls(sv, op.builtinCtrls, user);
  // One- and two-target ops (nearly every gate) take their bits from a local array: a vector
  // here was one of the heap allocations of every gate call.
  unsigned b2[2] = {0, 0};
  for (std::size_t t = 0; t < op.targets.size() && t < 2; ++t)
    b2[t] = sv.bitOf(op.targets[t]);
  switch (op.kind) {
  case Op::None:
    return;
  case Op::Matrix:
    if (op.targets.size() == 1)
      return kernels::applyMatrix1(sv, b2[0], op.m.data(), c);
    if (op.targets.size() == 2)
      return kernels::applyMatrix2(sv, b2[0], b2[1], op.m.data(), c);
    return applyMatrixOp(sv, toBits(sv, op.targets), op.m.data(), c);
  case Op::Diagonal1:
    return kernels::applyDiagonal1(sv, b2[0], op.m[0], op.m[1], c);
  case Op::PauliX:
    return kernels::applyPauliX(sv, b2[0], c);
  case Op::Swap:
    return kernels::applySwap(sv, b2[0], b2[1], c);
  case Op::TwoLevel:
    return kernels::applyTwoLevel(sv, toBits(sv, op.targets), op.r0, op.r1, op.m.data(), c);
  case Op::Parity: {
    std::uint64_t mask = 0;
    for (std::size_t w : op.targets)
      mask |= std::uint64_t{1} << sv.bitOf(w);
    return kernels::applyParityPhase(sv, mask, op.m[0], op.m[1], c);
  }
  case Op::Scalar:
    return kernels::applyScalar(sv, op.m[0], c);
  }
}

bool applyToBasisState(const Op &op, const ControlWires &user, std::size_t numQubits,
                       std::uint64_t &index, Complex &phase) {
  auto bit = [&](std::size_t w) { return (index >> (numQubits - 1 - w)) & 1; };
  auto flip = [&](std::size_t w) { index ^= std::uint64_t{1} << (numQubits - 1 - w); };
  for (std::size_t w : op.builtinCtrls)
    if (!bit(w))
      return true;
  for (std::size_t k = 0; k < user.wires.size(); ++k)
    if (bit(user.wires[k]) != static_cast<std::uint64_t>(user.values[k]))
      return true;
  // The targets' part of the index, targets[0] the most significant bit (the matrix order).
  std::uint64_t local = 0;
  for (std::size_t w : op.targets)
    local = (local << 1) | bit(w);
  auto setLocal = [&](std::uint64_t r) {
    for (std::size_t t = op.targets.size(); t-- > 0; r >>= 1)
      if (bit(op.targets[t]) != (r & 1))
        flip(op.targets[t]);
  };
  switch (op.kind) {
  case Op::None:
    return true;
  case Op::PauliX:
    flip(op.targets[0]);
    return true;
  case Op::Swap:
    if (bit(op.targets[0]) != bit(op.targets[1])) {
      flip(op.targets[0]);
      flip(op.targets[1]);
    }
    return true;
  case Op::Diagonal1:
    phase *= op.m[bit(op.targets[0])];
    return true;
  case Op::Parity:
    phase *= op.m[__builtin_popcountll(local) & 1];
    return true;
  case Op::Scalar:
    phase *= op.m[0];
    return true;
  case Op::Matrix:
  case Op::TwoLevel: {
    // The column of the current local index must have exactly one non-zero entry.
    const std::uint64_t dim = op.kind == Op::Matrix ? std::uint64_t{1} << op.targets.size() : 2;
    std::uint64_t col = local;
    if (op.kind == Op::TwoLevel) {
      if (local != op.r0 && local != op.r1)
        return true; // the identity outside the two coupled states
      col = local == op.r0 ? 0 : 1;
    }
    std::uint64_t row = dim;
    for (std::uint64_t r = 0; r < dim; ++r)
      if (op.m[r * dim + col] != Complex{}) {
        if (row != dim)
          return false;
        row = r;
      }
    if (row == dim)
      return false; // a zero column: not unitary, not a basis state afterwards
    phase *= op.m[row * dim + col];
    setLocal(op.kind == Op::Matrix ? row : (row == 0 ? op.r0 : op.r1));
    return true;
  }
  }
  return false;
}

namespace {

void checkTargetsAndControls(const StateVector &sv, const std::vector<std::size_t> &wires,
                             const ControlWires &ctrls, const std::string &what) {
  // The common (valid) case builds no strings; the gate name is added on the error path.
  try {
    checkWires(wires, sv.numQubits(), "wires");
    checkWires(ctrls.wires, sv.numQubits(), "control wires");
  } catch (const Error &e) {
    throw Error(what + ": " + e.what());
  }
  checkDisjoint(wires, ctrls.wires, what.c_str());
  if (ctrls.values.size() != ctrls.wires.size())
    throw Error(what + ": " + std::to_string(ctrls.wires.size()) + " control wires but " +
                std::to_string(ctrls.values.size()) + " control values");
}

} // namespace

const GateInfo *gateInfo(std::int64_t gate) {
  if (gate < 0 || gate >= KVANT_GATE_COUNT)
    return nullptr;
  return &kGates[gate];
}

void validateGate(const StateVector &sv, std::int64_t gate, const std::vector<double> &params,
                  const std::vector<std::size_t> &wires, const ControlWires &ctrls) {
  const GateInfo *info = gateInfo(gate);
  if (!info)
    throw Error("unknown gate id " + std::to_string(gate));
  const char *name = info->name;
  if (static_cast<int>(params.size()) != info->numParams)
    throw Error(std::string(name) + " takes " + std::to_string(info->numParams) +
                " parameter(s), got " + std::to_string(params.size()));
  if (info->numWires >= 0) {
    if (static_cast<int>(wires.size()) != info->numWires)
      throw Error(std::string(name) + " acts on " + std::to_string(info->numWires) +
                  " wire(s), got " + std::to_string(wires.size()));
  } else if (wires.empty() && gate != KVANT_GATE_GlobalPhase) {
    // GlobalPhase is the one gate whose action does not depend on its wires, so the frontend
    // may emit it with none.
    throw Error(std::string(name) + " needs at least one wire");
  }
  checkTargetsAndControls(sv, wires, ctrls, name);
}

Op gateOp(std::int64_t gate, const std::vector<double> &params,
          const std::vector<std::size_t> &wires, bool adjoint) {
  Op op = makeOp(gate, params, wires);
  if (adjoint)
    adjointInPlace(op);
  return op;
}

std::vector<Op> gateDerivativeOps(std::int64_t gate, const std::vector<double> &params,
                                  const std::vector<std::size_t> &wires, bool adjoint) {
  // Every parametrised gate's entries (in the Op's representation, which is linear in the
  // matrix entries) are, in each single parameter t, of the form A e^{iwt} + B e^{-iwt} + C
  // with one frequency w: 1 for PhaseShift, ControlledPhaseShift and GlobalPhase, 1/2 for all
  // others (they are exp(-i t G / 2) with G^2 = I, or products of such, like Rot). For such
  // entries  d/dt f(t) = w (f(t + s) - f(t - s)) / (2 sin(w s))  exactly; with s = pi / (2w)
  // that is  w (f(t + s) - f(t - s)) / 2. Deriving dU from makeOp itself means no second,
  // hand-written copy of every gate matrix that could drift from the first.
  const bool freq1 = gate == KVANT_GATE_PhaseShift || gate == KVANT_GATE_ControlledPhaseShift ||
                     gate == KVANT_GATE_GlobalPhase;
  const double w = freq1 ? 1.0 : 0.5;
  const double shift = M_PI / (2.0 * w);
  std::vector<Op> out;
  for (std::size_t p = 0; p < params.size(); ++p) {
    std::vector<double> plus = params, minus = params;
    plus[p] += shift;
    minus[p] -= shift;
    Op d = makeOp(gate, plus, wires);
    const Op m = makeOp(gate, minus, wires);
    for (std::size_t i = 0; i < d.m.size(); ++i)
      d.m[i] = (w / 2.0) * (d.m[i] - m.m[i]);
    // (dU)^dagger for an adjoint gate: conj-transpose is linear, so the same helper applies.
    if (adjoint)
      adjointInPlace(d);
    out.push_back(std::move(d));
  }
  return out;
}

void applyUnitary(StateVector &sv, const std::vector<Complex> &matrix,
                  const std::vector<std::size_t> &wires, const ControlWires &ctrls, bool adjoint) {
  if (wires.empty())
    throw Error("QubitUnitary needs at least one wire");
  checkTargetsAndControls(sv, wires, ctrls, "QubitUnitary");
  const std::size_t dim = std::size_t{1} << wires.size();
  if (matrix.size() != dim * dim)
    throw Error("QubitUnitary on " + std::to_string(wires.size()) + " wire(s) needs a " +
                std::to_string(dim) + "x" + std::to_string(dim) + " matrix, got " +
                std::to_string(matrix.size()) + " entries");
  execute(sv, unitaryOp(matrix, wires, adjoint), ctrls);
}

Op unitaryOp(const std::vector<Complex> &matrix, const std::vector<std::size_t> &wires,
             bool adjoint) {
  Op op = matrixOp(wires, matrix);
  if (adjoint)
    adjointInPlace(op);
  return op;
}

} // namespace kvant::rt
