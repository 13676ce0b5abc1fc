// The backward sweep: walks the tape from the end, stepping phi and every lambda back through
// each gate and collecting the derivative terms. The passes themselves are in
// AdjointKernels.cpp; this file decides which pass each gate gets.
#include "Adjoint.hpp"
#include "AdjointSegments.hpp"
#include "Blocks.hpp"
#include "Forward.hpp"
#include "Settings.hpp"

#include "AdjointKernels.hpp"
#include "Parallel.hpp"
#include "kvant/runtime.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <optional>

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

// Fixed gates with a pair kernel that can step x and y back in one pass.
bool hasUndoKernel(const Op &op) {
  return op.kind == Op::None || op.kind == Op::PauliX || op.kind == Op::Swap ||
         op.kind == Op::Diagonal1 || (op.kind == Op::Matrix && op.targets.size() == 1);
}

// x <- U^-1 x and *y <- U^-1 *y in one pass, for an op with hasUndoKernel; `bits` are the
// target bits and `c` the controls in x's index space.
void undoWith(const Op &op, const unsigned *bits, const kernels::Controls &c, StateVector &x,
              StateVector *y) {
  switch (op.kind) {
  case Op::PauliX:
    return kernels::applyPauliX(x, bits[0], c, y);
  case Op::Swap:
    return kernels::applySwap(x, bits[0], bits[1], c, y);
  case Op::Diagonal1:
    return kernels::applyDiagonal1(x, bits[0], std::conj(op.m[0]), std::conj(op.m[1]), c, y);
  case Op::Matrix: {
    const Complex inv[4] = {std::conj(op.m[0]), std::conj(op.m[2]), std::conj(op.m[1]),
                            std::conj(op.m[3])};
    return kernels::applyMatrix1(x, bits[0], inv, c, y);
  }
  default:
    return;
  }
}

// x <- U^-1 x (and the same for *y, in the same pass where the kernel allows it).
void undo(const TapeEntry &e, StateVector &x, StateVector *y) {
  const Op &op = e.op;
  if (op.kind == Op::None)
    return;
  if (hasUndoKernel(op)) {
    unsigned bits[2] = {x.bitOf(op.targets[0]), 0};
    if (op.targets.size() > 1)
      bits[1] = x.bitOf(op.targets[1]);
    return undoWith(op, bits, opControls(x, op, e.ctrls), x, y);
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
void generalStep(const TapeEntry &e, const std::vector<Op> &derivs, const Op &inv, StateVector &phi,
                 StateVector &lam, bool updatePhi, double *out) {
  const kernels::Controls ctrl = opControls(phi, e.op, e.ctrls);
  if (inv.kind == Op::Parity || inv.kind == Op::Scalar) {
    std::uint64_t mask = 0;
    if (inv.kind == Op::Parity)
      for (unsigned b : bitsOf(phi, inv.targets))
        mask |= std::uint64_t{1} << b;
    std::vector<std::array<Complex, 2>> d;
    for (const Op &x : derivs)
      d.push_back(phasePair(x));
    return adjoint::phaseStep(phi, lam, updatePhi, ctrl.bits, ctrl.values, mask, phasePair(inv), d,
                              out);
  }
  std::vector<adjoint::LocalOp> ld;
  for (const Op &d : derivs)
    ld.push_back(localForm(phi, d));
  std::vector<unsigned> fixed = bitsOf(phi, inv.targets);
  fixed.insert(fixed.end(), ctrl.bits.begin(), ctrl.bits.end());
  adjoint::groupStep(phi, lam, updatePhi, fixed, ctrl.values, localForm(phi, inv), ld, out);
}

// ---- cache-blocked runs of gates
//
// Why: a backward step touches phi and lambda; at 20 qubits the two are 32 MiB, more than the
// L3 cache, so stepping both back through one gate at a time runs at memory speed -- measured
// ~3.3x the time of the forward pass's step on the one 16 MiB state, which stays in L3. But a
// run of consecutive gates that together touch at most B distinct index bits acts separately
// on each "block" of 2^B amplitudes (the indices that agree on every other bit). So the sweep
// copies one block of phi and of every lambda into a per-thread buffer that stays in L2, steps
// the whole run back there with the ordinary kernels (on views of the buffer, bits renumbered),
// and copies it back: one pass over memory per run of gates instead of one per gate. Blocks are
// independent, so they are also the unit of threading. Derivative sums are kept per block and
// added in block order, so results do not depend on the thread count.

// phi + one lambda: 2 x 512 KiB, the size of a Zen 4 L2 (measured at 20 qubits: 14 ~5% slower,
// 16 no better).
constexpr unsigned kDefaultBlockQubits = 15;
constexpr std::size_t kBlockMinBytes = std::size_t{16} << 20;

unsigned blockQubitsSetting() {
  // KVANT_RT_ADJOINT_BLOCK_QUBITS: 0 disables blocking; small values let tests run the
  // blocked path on small registers. Read once.
  static const unsigned value = static_cast<unsigned>(
      envSetting("KVANT_RT_ADJOINT_BLOCK_QUBITS", kDefaultBlockQubits, 0, 24));
  return value;
}

// Block qubits for m lambdas: the buffers of phi and the m lambdas fit the budget of two
// vectors of 2^setting amplitudes. 0: no blocking.
unsigned blockQubits(std::size_t m) {
  unsigned b = blockQubitsSetting();
  while (b > 0 && (m + 1) > (std::size_t{2} << (blockQubitsSetting() - b)))
    --b;
  return b >= 3 ? b : 0;
}

// One step of a blocked run: a fixed gate to undo (e != nullptr) or a rotation chain; bits
// first global, then renumbered to the block.
struct BlockStep {
  const TapeEntry *e = nullptr;
  unsigned bit[2] = {0, 0};
  kernels::Controls ctrl;
  RotationStep steps[adjoint::kMaxChain];
  std::size_t param[adjoint::kMaxChain] = {}; // the tape's parameter index of each step
  std::size_t slot[adjoint::kMaxChain] = {};  // its index among the run's parameters
  std::size_t numSteps = 0;
};

struct BlockedRun {
  std::vector<BlockStep> steps;
  std::optional<blocks::Layout> layout; // set once the run's bits are known
  std::vector<std::size_t> params;      // the tape's parameter index of each slot
  std::size_t m = 0;
  Complex *vec[1 + 64] = {};   // phi, lambdas
  std::vector<double> partial; // [block][lambda][param]
  bool writeBack = true;       // false when no parameter is left after this run
  std::atomic<bool> failed{false};

  void block(std::size_t b) noexcept {
    try {
      run(b);
    } catch (...) {
      failed.store(true);
    }
  }

  void run(std::size_t b) {
    thread_local blocks::Buffer buffer;
    const std::size_t len = layout->blockSize();
    Complex *buf = buffer.get((m + 1) * len);
    const std::uint64_t base = layout->base(b);
    for (std::size_t v = 0; v <= m; ++v)
      layout->gather(buf + v * len, vec[v], base);
    StateVector phi = StateVector::view(buf, layout->B);
    std::vector<StateVector> lam;
    for (std::size_t k = 0; k < m; ++k)
      lam.push_back(StateVector::view(buf + (k + 1) * len, layout->B));
    const std::size_t numParams = params.size();
    double *out = partial.data() + b * m * numParams;
    for (const BlockStep &s : steps) {
      if (s.e) {
        undoWith(s.e->op, s.bit, s.ctrl, phi, &lam[0]);
        for (std::size_t k = 1; k < m; k += 2)
          undoWith(s.e->op, s.bit, s.ctrl, lam[k], k + 1 < m ? &lam[k + 1] : nullptr);
        continue;
      }
      double acc[adjoint::kMaxChain];
      for (std::size_t k = 0; k < m; ++k) {
        adjoint::rotationChain(phi, lam[k], k + 1 == m, s.bit[0], s.ctrl, s.steps, s.numSteps, acc);
        for (std::size_t t = 0; t < s.numSteps; ++t)
          out[k * numParams + s.slot[t]] = acc[t];
      }
    }
    if (!writeBack)
      return;
    // Streaming stores: the sweep is blocked when phi and the lambdas exceed the caches, so
    // they go back to memory anyway.
    for (std::size_t v = 0; v <= m; ++v)
      layout->scatter(vec[v], buf + v * len, base, /*stream=*/true);
  }
};

// The sweep's bookkeeping. Runs may step a gate back before later-recorded ones it commutes
// with (no shared bit), so the processed entries are not always a suffix of the tape.
struct Sweep {
  const std::vector<TapeEntry> &entries;
  std::vector<std::size_t> firstParam; // the tape's index of each entry's first parameter
  std::vector<char> done;
  std::size_t remaining; // parameters not yet differentiated; the sweep stops at 0
  // Entries before `lo` belong to a part of the tape handled later (a checkpointed segment
  // and what precedes it): nothing may be stepped back ahead of it.
  std::size_t lo = 0;

  explicit Sweep(const Tape &t)
      : entries(t.entries), firstParam(t.entries.size()), done(t.entries.size(), 0),
        remaining(t.numParams) {
    std::size_t p = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      firstParam[i] = p;
      p += entries[i].numParams;
    }
  }
};

// The rotation chain ending at pending entry idx (a rotation gate): it and the pending
// rotations right before it on the same qubit and controls, steps in backward order.
// members: the entries used (idx first); returns their number, numSteps the steps'.
std::size_t buildChain(const Sweep &sw, std::size_t idx, const RotationGate &rg,
                       RotationStep *steps, std::size_t *param, std::size_t *members,
                       std::size_t &numSteps) {
  const TapeEntry &e = sw.entries[idx];
  std::size_t n = 0, numMembers = 0;
  for (std::size_t j = idx + 1; j-- > sw.lo;) {
    if (sw.done[j])
      continue; // already stepped back: it commutes with idx, so idx's neighbour is before it
    RotationGate g;
    const TapeEntry &x = sw.entries[j];
    if (j != idx && (x.numParams == 0 || !sameQubitsAndControls(x, e) || !rotationForm(x, g) ||
                     n + g.numSteps > adjoint::kMaxChain))
      break;
    const RotationGate &r = j == idx ? rg : g;
    for (std::size_t t = r.numSteps; t-- > 0;) {
      steps[n] = r.steps[t];
      param[n] = sw.firstParam[j] + r.param[t];
      ++n;
    }
    members[numMembers++] = j;
  }
  numSteps = n;
  return numMembers;
}

std::uint64_t entryBits(const StateVector &phi, const TapeEntry &e, kernels::Controls &c) {
  c = opControls(phi, e.op, e.ctrls);
  std::uint64_t m = 0;
  for (std::size_t w : e.op.targets)
    m |= std::uint64_t{1} << phi.bitOf(w);
  for (unsigned b : c.bits)
    m |= std::uint64_t{1} << b;
  return m;
}

// Tries to step back, as one blocked run, pending entry idx (the latest pending one) together
// with as many earlier pending gates as fit in one block: a gate joins if its bits fit and it
// shares no bit with a gate passed over (so moving it ahead of those is exact). On success
// marks the entries done and writes their derivatives into `out`; otherwise changes nothing.
bool blockedRun(Sweep &sw, std::size_t idx, StateVector &phi, std::vector<StateVector> &lambdas,
                std::vector<double> &out, std::size_t P) {
  const std::size_t m = lambdas.size();
  const unsigned n = static_cast<unsigned>(phi.numQubits());
  const unsigned B = blockQubits(m);
  if (B == 0 || n <= B || m > 64)
    return false;
  // Below this working set the vectors stay in L3 anyway and the copies cost more than they
  // save (measured: 16 qubits ~10% slower blocked, 18 even, 19 a few % faster, 20 ~1.4x).
  // A small block setting (tests) blocks whatever the size.
  if (blockQubitsSetting() >= 12 && (m + 1) * phi.size() * sizeof(Complex) < kBlockMinBytes)
    return false;
  const auto &entries = sw.entries;
  // The lowest bits are always in the block, so that it is copied in runs of at least 8
  // amplitudes (two cache lines), not single amplitudes from every line.
  const unsigned forcedLow = B >= 8 ? 3 : 0;
  const std::uint64_t all = n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
  std::uint64_t mask = (std::uint64_t{1} << forcedLow) - 1, passed = 0;
  BlockedRun run;
  std::vector<std::size_t> taken;
  // Looking further back costs little (no state is touched) and finds more gates that
  // commute past the ones that did not fit.
  const std::size_t lookahead = 4 * std::size_t{n} + 16;
  std::size_t scanned = 0;
  for (std::size_t j = idx + 1; j-- > sw.lo && scanned < lookahead && passed != all;) {
    if (sw.done[j])
      continue;
    ++scanned;
    const TapeEntry &e = entries[j];
    BlockStep s;
    RotationGate rg;
    const bool rotation = e.numParams > 0 && rotationForm(e, rg);
    if (!rotation && !(e.numParams == 0 && hasUndoKernel(e.op)))
      break; // not blockable: the run ends here
    if (e.op.kind == Op::None && e.numParams == 0) {
      sw.done[j] = 1; // nothing to undo
      taken.push_back(j);
      continue;
    }
    const std::uint64_t bits = entryBits(phi, e, s.ctrl);
    if ((bits & passed) != 0 || static_cast<unsigned>(__builtin_popcountll(mask | bits)) > B) {
      if (j == idx)
        break;
      passed |= bits;
      continue;
    }
    mask |= bits;
    if (rotation) {
      s.bit[0] = phi.bitOf(rg.target);
      std::size_t members[adjoint::kMaxChain];
      const std::size_t k = buildChain(sw, j, rg, s.steps, s.param, members, s.numSteps);
      for (std::size_t t = 0; t < k; ++t) {
        sw.done[members[t]] = 1;
        taken.push_back(members[t]);
      }
      for (std::size_t t = 0; t < s.numSteps; ++t) {
        s.slot[t] = run.params.size();
        run.params.push_back(s.param[t]);
      }
    } else {
      for (std::size_t t = 0; t < e.op.targets.size(); ++t)
        s.bit[t] = phi.bitOf(e.op.targets[t]);
      s.e = &e;
      sw.done[j] = 1;
      taken.push_back(j);
    }
    run.steps.push_back(std::move(s));
  }
  // A single gate gains nothing from the copies.
  if (run.steps.size() < 2) {
    for (std::size_t j : taken)
      sw.done[j] = 0;
    return false;
  }

  run.layout.emplace(mask, n, B);
  const unsigned *local = run.layout->local;
  for (BlockStep &s : run.steps) {
    const std::size_t nt = s.e ? s.e->op.targets.size() : 1;
    for (std::size_t t = 0; t < nt; ++t)
      s.bit[t] = local[s.bit[t]];
    std::uint64_t values = 0;
    for (unsigned &b : s.ctrl.bits) {
      if (s.ctrl.values >> b & 1)
        values |= std::uint64_t{1} << local[b];
      b = local[b];
    }
    s.ctrl.values = values;
  }
  run.m = m;
  run.vec[0] = phi.data();
  for (std::size_t k = 0; k < m; ++k)
    run.vec[k + 1] = lambdas[k].data();
  const std::size_t numBlocks = std::size_t{1} << (n - B), numParams = run.params.size();
  run.partial.assign(numBlocks * m * numParams, 0.0);
  // After the last parameter the sweep ends and phi and the lambdas are dropped (adjointSweep
  // consumes them), so the last run need not copy its blocks back.
  run.writeBack = sw.remaining > numParams;
  par::runChunks(
      numBlocks, par::useThreads(phi.size()),
      [](const void *ctx, std::size_t b) {
        const_cast<BlockedRun *>(static_cast<const BlockedRun *>(ctx))->block(b);
      },
      &run);
  if (run.failed.load())
    throw Error("internal: a blocked adjoint step failed (out of memory?)");
  for (std::size_t k = 0; k < m; ++k)
    for (std::size_t p = 0; p < numParams; ++p) {
      double sum = 0.0;
      for (std::size_t b = 0; b < numBlocks; ++b)
        sum += run.partial[(b * m + k) * numParams + p];
      out[k * P + run.params[p]] = 2.0 * sum;
    }
  sw.remaining -= numParams;
  return true;
}

} // namespace

namespace {

// The plain sweep over the entries [sw.lo, hi) not yet done.
void sweepRange(Sweep &sw, std::size_t hi, StateVector &phi, std::vector<StateVector> &lambdas,
                std::vector<double> &out) {
  const std::size_t m = lambdas.size(), P = out.size() / m;
  const auto &entries = sw.entries;
  for (std::size_t end = hi; sw.remaining > 0;) {
    while (end > sw.lo && sw.done[end - 1])
      --end;
    if (end == sw.lo)
      break;
    const std::size_t idx = end - 1;
    if (blockedRun(sw, idx, phi, lambdas, out, P))
      continue;
    const TapeEntry &e = entries[idx];
    if (e.numParams == 0) {
      // phi with lambda 0, then the other lambdas two at a time.
      undo(e, phi, &lambdas[0]);
      for (std::size_t k = 1; k < m; k += 2)
        undo(e, lambdas[k], k + 1 < m ? &lambdas[k + 1] : nullptr);
      sw.done[idx] = 1;
      continue;
    }

    RotationGate rg;
    if (rotationForm(e, rg)) {
      // This gate and the rotations before it on the same qubit and controls (RZ after RY in
      // an ansatz layer, Rot, ...) step back in one pass.
      RotationStep steps[adjoint::kMaxChain];
      std::size_t param[adjoint::kMaxChain], members[adjoint::kMaxChain];
      std::size_t n = 0;
      const std::size_t k = buildChain(sw, idx, rg, steps, param, members, n);
      for (std::size_t t = 0; t < k; ++t)
        sw.done[members[t]] = 1;
      const kernels::Controls ctrl = opControls(phi, e.op, e.ctrls);
      const unsigned bit = phi.bitOf(rg.target);
      double acc[adjoint::kMaxChain];
      for (std::size_t l = 0; l < m; ++l) {
        // phi_after is read by every lambda's pass; the last one moves phi back.
        adjoint::rotationChain(phi, lambdas[l], l + 1 == m, bit, ctrl, steps, n, acc);
        for (std::size_t t = 0; t < n; ++t)
          out[l * P + param[t]] = 2.0 * acc[t];
      }
      sw.remaining -= n;
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
    double acc[adjoint::kMaxParamsPerGate];
    for (std::size_t l = 0; l < m; ++l) {
      generalStep(e, derivs, inv, phi, lambdas[l], l == 0, acc);
      for (std::size_t p = 0; p < e.numParams; ++p)
        out[l * P + sw.firstParam[idx] + p] = 2.0 * acc[p];
    }
    sw.done[idx] = 1;
    sw.remaining -= e.numParams;
  }
}

} // namespace

namespace {

// The sweep; `finalState` is the state the tape ended in, `consumable` either the same vector
// (which the sweep may then change) or nullptr (a working copy is made if phi is needed).
std::vector<double> sweep(const Tape &tape, const StateVector &finalState, StateVector *consumable,
                          std::vector<StateVector> &lambdas) {
  const std::size_t m = lambdas.size(), P = tape.numParams;
  std::vector<double> out(m * P, 0.0);
  if (m == 0 || P == 0)
    return out;
  Sweep sw(tape);
  std::optional<StateVector> own;
  StateVector *phi = consumable;
  const auto &entries = tape.entries;
  // The checkpointed segments the segment rule accepts (AdjointSegments.hpp), in tape order.
  std::vector<const Checkpoint *> segs;
  std::vector<SegmentPlan> plans;
  for (const Checkpoint &c : tape.checkpoints) {
    SegmentPlan plan;
    if ((segs.empty() || segs.back()->end <= c.begin) &&
        planSegment(tape, c, finalState.numQubits(), plan)) {
      segs.push_back(&c);
      plans.push_back(std::move(plan));
    }
  }
  // From the end, segment by segment. `phiAt`: the tape position phi holds the state at (it is
  // the final state first); a gap between segments with parameters needs phi there and takes
  // it from the later segment's checkpoint. A gap without parameters needs no phi: the lambdas
  // are stepped back through it and through the segment before it in one forward-style blocked
  // pass (Forward.hpp), and the segment's derivatives read its checkpoint.
  std::size_t hi = entries.size(), phiAt = entries.size(), used = 0, usedBasis = 0, usedGap = 0;
  auto gapParams = [&](std::size_t lo, std::size_t to) {
    std::size_t n = 0;
    for (std::size_t i = lo; i < to; ++i)
      n += sw.done[i] ? 0 : entries[i].numParams;
    return n;
  };
  auto phiTo = [&](std::size_t pos) {
    if (!phi) {
      own.emplace(StateVector::uninitialized(finalState.numQubits()));
      phi = &*own;
      phiAt = std::size_t(-1);
    }
    if (phiAt == pos)
      return;
    if (pos == entries.size()) {
      phi->copyFrom(finalState);
      phiAt = pos;
      return;
    }
    for (const Checkpoint *c : segs)
      if (c->begin == pos) {
        if (c->basis) {
          phi->zero();
          phi->data()[c->index] = c->phase;
        } else {
          phi->copyFrom(c->state);
        }
        phiAt = pos;
        return;
      }
    throw Error("internal: no checkpoint for the adjoint sweep at entry " + std::to_string(pos));
  };
  for (std::size_t s = segs.size(); s-- > 0 && sw.remaining > 0;) {
    const Checkpoint &c = *segs[s];
    const SegmentPlan &plan = plans[s];
    // The last derivatives the sweep needs, from a segment on a basis state behind a
    // permutation (an ansatz's first layer and its CNOT ring): one read of each lambda, no
    // steps back (AdjointSegments.hpp).
    if (c.basis && sw.remaining == plan.numParams && permutationGap(tape, sw.done, c.end, hi)) {
      segmentDerivativesThroughGap(tape, plan, c, hi, sw.done, lambdas, out.data(), P);
      ++used;
      ++usedBasis;
      ++usedGap;
      sw.remaining = 0;
      break;
    }
    std::vector<PendingGate> undo;
    if (gapParams(c.end, hi) > 0) {
      phiTo(hi);
      sw.lo = c.end;
      sweepRange(sw, hi, *phi, lambdas, out);
      phiAt = c.end;
    } else {
      for (std::size_t i = hi; i-- > c.end;) {
        if (sw.done[i])
          continue;
        sw.done[i] = 1;
        if (entries[i].op.kind == Op::None)
          continue;
        PendingGate g{entries[i].op, entries[i].ctrls};
        adjointInPlace(g.op);
        undo.push_back(std::move(g));
      }
    }
    if (sw.remaining == 0)
      break;
    undo.insert(undo.end(), plan.undo.begin(), plan.undo.end());
    for (StateVector &l : lambdas) {
      std::vector<PendingGate> gates = undo; // applyPending consumes its list
      applyPending(l, gates);
    }
    segmentDerivatives(plan, c, lambdas, out.data(), P);
    ++used;
    usedBasis += c.basis ? 1 : 0;
    for (std::size_t i = c.begin; i < c.end; ++i)
      sw.done[i] = 1;
    sw.remaining -= plan.numParams;
    hi = c.begin;
  }
  if (sw.remaining > 0) {
    phiTo(hi);
    sw.lo = 0;
    sweepRange(sw, hi, *phi, lambdas, out);
  }
  // KVANT_RT_ADJOINT_TRACE=1: one line per sweep on stderr, so tests can tell that the segment
  // rule ran (or, with the checkpoint budget at 0, did not).
  static const bool trace = envSetting("KVANT_RT_ADJOINT_TRACE", 0, 0, 1) == 1;
  if (trace)
    std::fprintf(stderr,
                 "kvant adjoint sweep: %zu checkpointed segment(s) used, %zu recorded, %zu on "
                 "basis states, %zu through a permutation\n",
                 used, tape.checkpoints.size(), usedBasis, usedGap);
  return out;
}

} // namespace

std::vector<double> adjointSweep(const Tape &tape, StateVector &phi,
                                 std::vector<StateVector> &lambdas) {
  return sweep(tape, phi, &phi, lambdas);
}

std::vector<double> adjointSweepFrom(const Tape &tape, const StateVector &phi,
                                     std::vector<StateVector> &lambdas) {
  return sweep(tape, phi, nullptr, lambdas);
}

} // namespace kvant::rt
