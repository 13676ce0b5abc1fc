// The backward sweep: walks the tape from the end, stepping phi and every lambda back through
// each gate and collecting the derivative terms. The passes themselves are in
// AdjointKernels.cpp; this file decides which pass each gate gets.
#include "Adjoint.hpp"

#include "AdjointKernels.hpp"
#include "kvant/runtime.h"

#include <algorithm>

namespace kvant::rt {
namespace {

using adjoint::RotationStep;
using adjoint::Sigma;

// ---- one-target rotations in generator form

// A parametrised gate that is one or more one-target rotations on the same target under the
// same controls: RX, RY, RZ, PhaseShift, Rot and their controlled forms.
struct RotationGate {
  std::size_t target = 0;
  RotationStep steps[3];
  std::uint8_t param[3]; // which of the gate's parameters each step carries
  std::size_t numSteps = 0;
};

bool rotationForm(const TapeEntry &e, RotationGate &out) {
  const double s = e.adjoint ? -1.0 : 1.0;
  const double *p = e.params;
  // Steps in the order they act on the state.
  switch (static_cast<kvant_gate_t>(e.gate)) {
  case KVANT_GATE_RX:
  case KVANT_GATE_CRX:
    out.steps[0] = adjoint::pauliRotation(Sigma::X, p[0], s);
    out.numSteps = 1;
    break;
  case KVANT_GATE_RY:
  case KVANT_GATE_CRY:
    out.steps[0] = adjoint::pauliRotation(Sigma::Y, p[0], s);
    out.numSteps = 1;
    break;
  case KVANT_GATE_RZ:
  case KVANT_GATE_CRZ:
    out.steps[0] = adjoint::pauliRotation(Sigma::Z, p[0], s);
    out.numSteps = 1;
    break;
  case KVANT_GATE_PhaseShift:
  case KVANT_GATE_ControlledPhaseShift:
    out.steps[0] = adjoint::phaseRotation(p[0], s);
    out.numSteps = 1;
    break;
  case KVANT_GATE_Rot:
  case KVANT_GATE_CRot:
    // Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi): RZ(phi) acts first. Its adjoint
    // RZ(phi)^dag RY(theta)^dag RZ(omega)^dag acts in the opposite order.
    out.steps[0] = adjoint::pauliRotation(Sigma::Z, p[0], s);
    out.steps[1] = adjoint::pauliRotation(Sigma::Y, p[1], s);
    out.steps[2] = adjoint::pauliRotation(Sigma::Z, p[2], s);
    out.param[0] = 0;
    out.param[1] = 1;
    out.param[2] = 2;
    out.numSteps = 3;
    if (e.adjoint) {
      std::swap(out.steps[0], out.steps[2]);
      std::swap(out.param[0], out.param[2]);
    }
    out.target = e.op.targets.at(0);
    return true;
  default:
    return false;
  }
  out.param[0] = 0;
  out.target = e.op.targets.at(0);
  return true;
}

bool sameQubitsAndControls(const TapeEntry &a, const TapeEntry &b) {
  return a.op.targets == b.op.targets && a.op.builtinCtrls == b.op.builtinCtrls &&
         a.ctrls.wires == b.ctrls.wires && a.ctrls.values == b.ctrls.values;
}

// ---- fixed gates

// x <- U^-1 x (and the same for *y, in the same pass where the kernel allows it).
void undo(const TapeEntry &e, StateVector &x, StateVector *y) {
  const Op &op = e.op;
  if (op.kind == Op::None)
    return;
  const kernels::Controls c = opControls(x, op, e.ctrls);
  switch (op.kind) {
  case Op::PauliX:
    return kernels::applyPauliX(x, x.bitOf(op.targets[0]), c, y);
  case Op::Swap:
    return kernels::applySwap(x, x.bitOf(op.targets[0]), x.bitOf(op.targets[1]), c, y);
  case Op::Diagonal1:
    return kernels::applyDiagonal1(x, x.bitOf(op.targets[0]), std::conj(op.m[0]),
                                   std::conj(op.m[1]), c, y);
  case Op::Matrix:
    if (op.targets.size() == 1) {
      const Complex inv[4] = {std::conj(op.m[0]), std::conj(op.m[2]), std::conj(op.m[1]),
                              std::conj(op.m[3])};
      return kernels::applyMatrix1(x, x.bitOf(op.targets[0]), inv, c, y);
    }
    break;
  default:
    break;
  }
  Op inv = op;
  adjointInPlace(inv);
  execute(x, inv, e.ctrls);
  if (y)
    execute(*y, inv, e.ctrls);
}

// ---- other parametrised gates: local matrices

std::vector<unsigned> bitsOf(const StateVector &sv, const std::vector<std::size_t> &wires) {
  std::vector<unsigned> bits;
  for (std::size_t w : wires)
    bits.push_back(sv.bitOf(w));
  return bits;
}

// Dense local form of a group-type Op (Matrix, Diagonal1, TwoLevel). For TwoLevel only the two
// coupled basis states are members: the gate is the identity on the rest, its derivative zero.
adjoint::LocalOp localForm(const StateVector &sv, const Op &op) {
  const std::vector<unsigned> bits = bitsOf(sv, op.targets);
  const std::size_t k = bits.size();
  std::vector<std::uint64_t> off(std::size_t{1} << k, 0);
  for (std::size_t j = 0; j < off.size(); ++j)
    for (std::size_t t = 0; t < k; ++t)
      if (j & (std::size_t{1} << (k - 1 - t)))
        off[j] |= std::uint64_t{1} << bits[t];
  adjoint::LocalOp l;
  switch (op.kind) {
  case Op::Matrix:
    l.offsets = off;
    l.m = op.m;
    break;
  case Op::Diagonal1:
    l.offsets = off;
    l.m = {op.m[0], 0.0, 0.0, op.m[1]};
    break;
  case Op::TwoLevel:
    l.offsets = {off.at(op.r0), off.at(op.r1)};
    l.m = op.m;
    break;
  default:
    throw Error("internal: no local form for this operation");
  }
  return l;
}

std::array<Complex, 2> phasePair(const Op &op) {
  return op.kind == Op::Scalar ? std::array<Complex, 2>{op.m[0], op.m[0]}
                               : std::array<Complex, 2>{op.m[0], op.m[1]};
}

// One backward step of a parametrised gate without a rotation form, on lambda k; the first
// lambda's pass also steps phi back, the others read the stepped phi.
void generalStep(const TapeEntry &e, const std::vector<Op> &derivs, const Op &inv,
                 StateVector &phi, StateVector &lam, bool updatePhi, double *out) {
  const kernels::Controls ctrl = opControls(phi, e.op, e.ctrls);
  if (inv.kind == Op::Parity || inv.kind == Op::Scalar) {
    std::uint64_t mask = 0;
    if (inv.kind == Op::Parity)
      for (unsigned b : bitsOf(phi, inv.targets))
        mask |= std::uint64_t{1} << b;
    std::vector<std::array<Complex, 2>> d;
    for (const Op &x : derivs)
      d.push_back(phasePair(x));
    return adjoint::phaseStep(phi, lam, updatePhi, ctrl.bits, ctrl.values, mask, phasePair(inv),
                              d, out);
  }
  std::vector<adjoint::LocalOp> ld;
  for (const Op &d : derivs)
    ld.push_back(localForm(phi, d));
  std::vector<unsigned> fixed = bitsOf(phi, inv.targets);
  fixed.insert(fixed.end(), ctrl.bits.begin(), ctrl.bits.end());
  adjoint::groupStep(phi, lam, updatePhi, fixed, ctrl.values, localForm(phi, inv), ld, out);
}

} // namespace

std::vector<double> adjointSweep(const Tape &tape, StateVector &phi,
                                 std::vector<StateVector> &lambdas) {
  const std::size_t m = lambdas.size(), P = tape.numParams;
  std::vector<double> out(m * P, 0.0);
  if (m == 0 || P == 0)
    return out;
  std::size_t next = P; // one past the parameters of the entry being processed
  const auto &entries = tape.entries;
  for (std::size_t idx = entries.size(); idx-- > 0 && next > 0;) {
    const TapeEntry &e = entries[idx];
    if (e.numParams == 0) {
      // phi with lambda 0, then the other lambdas two at a time.
      undo(e, phi, &lambdas[0]);
      for (std::size_t k = 1; k < m; k += 2)
        undo(e, lambdas[k], k + 1 < m ? &lambdas[k + 1] : nullptr);
      continue;
    }

    RotationGate rg;
    if (rotationForm(e, rg)) {
      // This gate and the rotations before it on the same qubit and controls (RZ after RY in
      // an ansatz layer, Rot, ...) step back in one pass; steps in backward order.
      RotationStep steps[adjoint::kMaxChain];
      std::size_t param[adjoint::kMaxChain];
      std::size_t n = 0;
      std::size_t first = idx;
      for (std::size_t j = idx + 1; j-- > 0;) {
        RotationGate g;
        if (j != idx && (entries[j].numParams == 0 || !sameQubitsAndControls(entries[j], e) ||
                         !rotationForm(entries[j], g) ||
                         n + g.numSteps > adjoint::kMaxChain || next == 0))
          break;
        const RotationGate &r = j == idx ? rg : g;
        next -= entries[j].numParams;
        for (std::size_t t = r.numSteps; t-- > 0;) {
          steps[n] = r.steps[t];
          param[n] = next + r.param[t];
          ++n;
        }
        first = j;
      }
      const kernels::Controls ctrl = opControls(phi, e.op, e.ctrls);
      const unsigned bit = phi.bitOf(rg.target);
      double acc[adjoint::kMaxChain];
      for (std::size_t k = 0; k < m; ++k) {
        // phi_after is read by every lambda's pass; the last one moves phi back.
        adjoint::rotationChain(phi, lambdas[k], k + 1 == m, bit, ctrl, steps, n, acc);
        for (std::size_t t = 0; t < n; ++t)
          out[k * P + param[t]] = 2.0 * acc[t];
      }
      idx = first; // the loop's idx-- moves past the chain
      continue;
    }

    // The rest: derivative matrices from the gate's definition (see gateDerivativeOps).
    if (!e.op.builtinCtrls.empty())
      throw Error("internal: no adjoint rule for a controlled form of gate " +
                  std::to_string(e.gate));
    const std::vector<double> params(e.params, e.params + e.numParams);
    const std::vector<Op> derivs = gateDerivativeOps(e.gate, params, e.op.targets, e.adjoint);
    Op inv = e.op;
    adjointInPlace(inv);
    next -= e.numParams;
    double acc[adjoint::kMaxParamsPerGate];
    for (std::size_t k = 0; k < m; ++k) {
      generalStep(e, derivs, inv, phi, lambdas[k], k == 0, acc);
      for (std::size_t p = 0; p < e.numParams; ++p)
        out[k * P + next + p] = 2.0 * acc[p];
    }
  }
  return out;
}

} // namespace kvant::rt
